# sde's stateful AWS resources: the posts search domain (in a private VPC), the exports bucket,
# the website bucket behind CloudFront, and the SSM parameters serverless.yml reads at deploy
# time (/sde/<stage>/...). Functions, APIs, Cognito and the state machine are in serverless.yml.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  name       = "sde-${var.stage}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # Two zones: Lambda wants subnets in more than one, and a 2-node domain spans both.
  azs = slice(data.aws_availability_zones.available.names, 0, 2)
}

# Encrypts the SSM SecureStrings (the OpenSearch passwords). A customer-managed key, so the
# functions' roles can be granted kms:Decrypt on this one key, only through SSM.
resource "aws_kms_key" "parameters" {
  description             = "${local.name}: SSM SecureString parameters (OpenSearch passwords)"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_kms_alias" "parameters" {
  name          = "alias/${local.name}-parameters"
  target_key_id = aws_kms_key.parameters.key_id
}
