# The posts index: Amazon OpenSearch Service in the private VPC, encrypted at rest and between
# nodes, HTTPS only (TLS 1.2+), with fine-grained access control (FGAC) over an internal user
# database. The functions authenticate as an internal user with HTTP basic auth (the
# sde-elasticsearch crate signs no SigV4), so IAM grants them no es:* action: a resource policy
# naming their roles would refuse their unsigned requests. Instead the domain is reachable only
# inside the VPC, through a security group that admits only the functions, and FGAC checks every
# request's user and password.

resource "aws_iam_service_linked_role" "opensearch" {
  count            = var.create_opensearch_service_linked_role ? 1 : 0
  aws_service_name = "opensearchservice.amazonaws.com"
}

resource "random_password" "opensearch_master" {
  length           = 32
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
  override_special = "!#%*+-=?_" # FGAC requires a special character; these are safe in shells and URLs
}

resource "random_password" "opensearch_reader" {
  length           = 32
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
  override_special = "!#%*+-=?_"
}

# The posts function's user: it may only index documents into the posts index.
resource "random_password" "opensearch_writer" {
  length           = 32
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
  override_special = "!#%*+-=?_"
}

# The real-time subscriptions' user (subscriptions and notify-real-time): it may only work the
# subscriptions percolator index, nothing on posts.
resource "random_password" "opensearch_subscriptions" {
  length           = 32
  min_upper        = 1
  min_lower        = 1
  min_numeric      = 1
  min_special      = 1
  override_special = "!#%*+-=?_"
}

resource "aws_opensearch_domain" "posts" {
  domain_name    = "${local.name}-posts"
  engine_version = var.opensearch_engine_version

  cluster_config {
    instance_type          = var.opensearch_instance_type
    instance_count         = var.opensearch_instance_count
    zone_awareness_enabled = var.opensearch_instance_count > 1

    dynamic "zone_awareness_config" {
      for_each = var.opensearch_instance_count > 1 ? [1] : []
      content {
        availability_zone_count = 2
      }
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.opensearch_volume_size_gb
  }

  vpc_options {
    subnet_ids         = var.opensearch_instance_count > 1 ? aws_subnet.private[*].id : [aws_subnet.private[0].id]
    security_group_ids = [aws_security_group.opensearch.id]
  }

  encrypt_at_rest {
    enabled = true
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = true

    master_user_options {
      master_user_name     = var.opensearch_master_username
      master_user_password = random_password.opensearch_master.result
    }
  }

  # Network-scoped: only what reaches the domain inside the VPC (the functions' security group)
  # can send a request at all, and FGAC then authenticates it. AWS's recommended policy for a
  # VPC domain with FGAC; no IP condition, no public endpoint.
  access_policies = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
      Resource  = "arn:${local.partition}:es:${var.region}:${local.account_id}:domain/${local.name}-posts/*"
    }]
  })

  depends_on = [aws_iam_service_linked_role.opensearch]
}
