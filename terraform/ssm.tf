# Settings serverless.yml reads at deploy time as ${ssm:/sde/<stage>/<name>} (see
# deploy/settings/aws.yml), and the passwords, which only operators and the functions read (at
# run time, decrypted with the parameters key).

locals {
  parameter_prefix = "/sde/${var.stage}"

  settings = {
    "es-url"                    = "https://${aws_opensearch_domain.posts.endpoint}"
    "es-index"                  = var.posts_index
    "es-username"               = var.opensearch_reader_username
    "es-writer-username"        = var.opensearch_writer_username
    "es-subscriptions-username" = var.opensearch_subscriptions_username
    "exports-bucket"            = aws_s3_bucket.exports.bucket
    "site-origin"               = var.site_origin
    "parameters-kms-key-arn"    = aws_kms_key.parameters.arn
    "lambda-security-group-id"  = aws_security_group.lambda.id
  }
}

resource "aws_ssm_parameter" "setting" {
  for_each    = local.settings
  name        = "${local.parameter_prefix}/${each.key}"
  description = "sde ${var.stage}: ${each.key} (written by terraform, read by serverless.yml)"
  type        = "String"
  value       = each.value
}

resource "aws_ssm_parameter" "lambda_subnet_ids" {
  name        = "${local.parameter_prefix}/lambda-subnet-ids"
  description = "sde ${var.stage}: private subnets of the functions that search OpenSearch"
  type        = "StringList"
  value       = join(",", aws_subnet.private[*].id)
}

# The functions' OpenSearch password (user var.opensearch_reader_username). Its name is
# SDE_ES_PASSWORD_PARAMETER of the functions that read the index (search, generate-csv, the
# reports).
resource "aws_ssm_parameter" "es_password" {
  name        = "${local.parameter_prefix}/es-password"
  description = "sde ${var.stage}: password of the OpenSearch user the functions search as"
  type        = "SecureString"
  key_id      = aws_kms_key.parameters.arn
  value       = random_password.opensearch_reader.result
}

# The password of the user new posts are indexed as (var.opensearch_writer_username). Its name
# is SDE_ES_PASSWORD_PARAMETER of posts, the only function that may read it.
resource "aws_ssm_parameter" "es_writer_password" {
  name        = "${local.parameter_prefix}/es-writer-password"
  description = "sde ${var.stage}: password of the OpenSearch user the posts function indexes new posts as"
  type        = "SecureString"
  key_id      = aws_kms_key.parameters.arn
  value       = random_password.opensearch_writer.result
}

# The password of the user real-time subscriptions are kept and matched as
# (var.opensearch_subscriptions_username). Its name is SDE_ES_PASSWORD_PARAMETER of subscriptions
# and notify-real-time, the only functions that may read it.
resource "aws_ssm_parameter" "es_subscriptions_password" {
  name        = "${local.parameter_prefix}/es-subscriptions-password"
  description = "sde ${var.stage}: password of the OpenSearch user the subscriptions and notify-real-time functions work the subscriptions percolator index as"
  type        = "SecureString"
  key_id      = aws_kms_key.parameters.arn
  value       = random_password.opensearch_subscriptions.result
}

# The FGAC master user's password, for operators only (no function may read it).
resource "aws_ssm_parameter" "es_master_password" {
  name        = "${local.parameter_prefix}/es-master-password"
  description = "sde ${var.stage}: password of the OpenSearch master user (operators only)"
  type        = "SecureString"
  key_id      = aws_kms_key.parameters.arn
  value       = random_password.opensearch_master.result
}

# The key that signs the lasting download links (HMAC-SHA256, 32 random bytes as 64 hex
# digits). Its name is SDE_LINK_KEY_PARAMETER of generate-csv and download. Replacing it
# (terraform taint random_id.link_key) voids every link handed out so far.
resource "random_id" "link_key" {
  byte_length = 32
}

resource "aws_ssm_parameter" "link_key" {
  name        = "${local.parameter_prefix}/link-key"
  description = "sde ${var.stage}: key that signs lasting download links"
  type        = "SecureString"
  key_id      = aws_kms_key.parameters.arn
  value       = random_id.link_key.hex
}
