output "opensearch_endpoint" {
  description = "HTTPS URL of the posts domain (inside the VPC only); also SSM /sde/<stage>/es-url."
  value       = "https://${aws_opensearch_domain.posts.endpoint}"
}

output "opensearch_dashboards_url" {
  description = "OpenSearch Dashboards URL (inside the VPC only), for operators signed in as the master user."
  value       = "https://${aws_opensearch_domain.posts.dashboard_endpoint}"
}

output "exports_bucket" {
  description = "Name of the private exports bucket; also SSM /sde/<stage>/exports-bucket."
  value       = aws_s3_bucket.exports.bucket
}

output "website_bucket" {
  description = "Name of the private website bucket: upload the React build here (aws s3 sync build/ s3://...)."
  value       = aws_s3_bucket.website.bucket
}

output "website_url" {
  description = "HTTPS URL of the CloudFront distribution serving the web app; use it as site_origin if you have no domain of your own."
  value       = "https://${aws_cloudfront_distribution.website.domain_name}"
}

output "website_distribution_id" {
  description = "CloudFront distribution id, for cache invalidation after uploading a new build."
  value       = aws_cloudfront_distribution.website.id
}

output "ssm_parameter_prefix" {
  description = "Path of the SSM parameters serverless.yml reads for this stage."
  value       = local.parameter_prefix
}

output "es_password_parameter" {
  description = "Name of the SecureString holding the functions' OpenSearch password (SDE_ES_PASSWORD_PARAMETER)."
  value       = aws_ssm_parameter.es_password.name
}

output "es_master_password_parameter" {
  description = "Name of the SecureString holding the OpenSearch master user's password (operators only)."
  value       = aws_ssm_parameter.es_master_password.name
}

output "parameters_kms_key_arn" {
  description = "ARN of the KMS key encrypting the SecureString parameters; the search functions may decrypt with it through SSM only."
  value       = aws_kms_key.parameters.arn
}

output "vpc_id" {
  description = "VPC of the domain and the search functions; open a CloudShell VPC environment here (security group lambda_security_group_id) to reach the domain."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "Private subnets of the search functions (also SSM /sde/<stage>/lambda-subnet-ids)."
  value       = aws_subnet.private[*].id
}

output "lambda_security_group_id" {
  description = "Security group of the functions that search OpenSearch; the only one the domain admits."
  value       = aws_security_group.lambda.id
}
