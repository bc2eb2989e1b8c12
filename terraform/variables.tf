variable "region" {
  description = "AWS region of every resource; serverless.yml must deploy to the same one (--region)."
  type        = string
  default     = "eu-west-1"
}

variable "stage" {
  description = "Deployment stage (dev, prod, ...). Names resources and the SSM parameter path /sde/<stage>/ that serverless.yml reads with the same --stage."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.stage))
    error_message = "The stage must be 1-16 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "site_origin" {
  description = "Origin of the web app (scheme://host[:port], no path), allowed by CORS on the API and the exports bucket, e.g. https://exports.example.com. Use the CloudFront domain from the website_url output on a second apply if you have no domain of your own."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/]+$", var.site_origin))
    error_message = "The site origin must be scheme://host[:port] without a path."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC that holds the OpenSearch domain and the two functions that search it (search, generate-csv)."
  type        = string
  default     = "10.42.0.0/16"
}

variable "opensearch_engine_version" {
  description = "Engine of the posts domain. sde targets OpenSearch 2.x (also Elasticsearch 7.10+)."
  type        = string
  default     = "OpenSearch_2.19"
}

variable "opensearch_instance_type" {
  description = "Data node instance type. t3.small.search is the cheapest that supports fine-grained access control; use r6g/m6g for real loads."
  type        = string
  default     = "t3.small.search"
}

variable "opensearch_instance_count" {
  description = "Number of data nodes. With 2 or more the domain spans two availability zones."
  type        = number
  default     = 1
}

variable "opensearch_volume_size_gb" {
  description = "EBS gp3 volume per data node, in GiB."
  type        = number
  default     = 20
}

variable "opensearch_master_username" {
  description = "Fine-grained access control master user (internal user database). Used only by operators (index creation, data import, creating the reader user), never by the functions."
  type        = string
  default     = "sde-admin"
}

variable "opensearch_reader_username" {
  description = "Internal OpenSearch user the functions authenticate as (HTTP basic auth over HTTPS). Create it once after apply, as the README section Deploy to AWS shows, mapped to a role with read on the posts index and the scroll cluster permissions."
  type        = string
  default     = "sde-reader"
}

variable "opensearch_writer_username" {
  description = "Internal OpenSearch user the posts function indexes new posts as (HTTP basic auth over HTTPS). Create it once after apply, as the README section Deploy to AWS shows, mapped to a role that may only index documents into the posts index."
  type        = string
  default     = "sde-writer"
}

variable "opensearch_subscriptions_username" {
  description = "Internal OpenSearch user the subscriptions and notify-real-time functions work the real-time subscriptions' percolator index as (HTTP basic auth over HTTPS). Create it once after apply, as the README section Deploy to AWS shows, mapped to a role that may only index, delete and read documents of the subscriptions index."
  type        = string
  default     = "sde-subscriptions"
}

variable "posts_index" {
  description = "Index (or alias) holding the posts."
  type        = string
  default     = "posts"
}

variable "create_opensearch_service_linked_role" {
  description = "Create the AWSServiceRoleForAmazonOpenSearchService service-linked role, which a VPC domain needs. Set true on an account that has never had an OpenSearch VPC domain; false if the role already exists (creating it twice fails)."
  type        = bool
  default     = false
}

variable "export_expiration_days" {
  description = "Days after which export files (and their push/progress records) are deleted, and incomplete multipart uploads aborted. Download links live at most one day, so one day is enough."
  type        = number
  default     = 1

  validation {
    condition     = var.export_expiration_days >= 1
    error_message = "S3 lifecycle rules count whole days, at least 1."
  }
}
