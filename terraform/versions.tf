terraform {
  # terraform_data (1.4) uploads the binary; lifecycle preconditions (1.2)
  # check the variables that depend on each other.
  required_version = ">= 1.4"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
