variable "name" {
  description = "Prefix of every resource's name, and the Environment tag."
  type        = string
  default     = "pulse-chain"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "architecture" {
  description = "CPU architecture of the instances (x86_64 or arm64); instance_type must match it."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "instance_type" {
  description = "Instance type of the chain (and sink) instances."
  type        = string
  default     = "c6i.large"
}

variable "etcd_instance_type" {
  description = "Instance type of the etcd instance, when the template creates one."
  type        = string
  default     = "t3.micro"
}

variable "root_volume_gb" {
  description = "Root volume size of each chain instance, in GB: the tail keeps 8 GiB of events, each hop up to 1 GiB of buffer per output."
  type        = number
  default     = 50
}

variable "chain_length" {
  description = "Number of instances in the chain: the head generates, middle hops forward, the tail writes files."
  type        = number
  default     = 4

  validation {
    condition     = var.chain_length >= 2 && var.chain_length <= 20 && floor(var.chain_length) == var.chain_length
    error_message = "chain_length must be a whole number from 2 to 20."
  }
}

variable "fanout" {
  description = "Middle hops also send every event to two sink clusters, b and c (three outputs each, with the next hop)."
  type        = bool
  default     = false
}

variable "sinks_per_cluster" {
  description = "Nodes in each fanout sink cluster (used with fanout and chain_length > 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.sinks_per_cluster >= 1 && var.sinks_per_cluster <= 10 && floor(var.sinks_per_cluster) == var.sinks_per_cluster
    error_message = "sinks_per_cluster must be a whole number from 1 to 10."
  }
}

variable "allowed_ssh_cidr" {
  description = "CIDR allowed to SSH to the instances, e.g. your address as 203.0.113.7/32 (create.sh fills it in)."
  type        = string

  validation {
    condition     = can(cidrhost(var.allowed_ssh_cidr, 0))
    error_message = "allowed_ssh_cidr must be a CIDR block such as 203.0.113.7/32."
  }
}

variable "ssh_public_key_path" {
  description = "Public key installed for ec2-user on every instance."
  type        = string
  default     = "~/.ssh/id_rsa.pub"
}

variable "ssh_private_key_path" {
  description = "Private key terraform uploads the binary with (pulse_binary_path); empty: use the SSH agent."
  type        = string
  default     = ""
}

variable "pulse_release_url" {
  description = "URL every instance downloads pulse from (a linux binary or a .tar.gz holding one). Set this or pulse_binary_path."
  type        = string
  default     = ""

  validation {
    condition     = length(regexall("'", var.pulse_release_url)) == 0
    error_message = "pulse_release_url must not contain a single quote."
  }
}

variable "pulse_binary_path" {
  description = "Local pulse binary (linux, matching architecture) uploaded to every instance over SSH. Set this or pulse_release_url."
  type        = string
  default     = ""
}

variable "etcd_endpoint" {
  description = "etcd client URL the instances register in (http://host:2379). Empty: the template creates a small etcd instance."
  type        = string
  default     = ""

  validation {
    condition     = length(regexall("'", var.etcd_endpoint)) == 0
    error_message = "etcd_endpoint must not contain a single quote."
  }
}

variable "etcd_version" {
  description = "etcd release installed on the etcd instance, and whose etcdctl the chain instances use."
  type        = string
  default     = "v3.5.17"

  validation {
    condition     = can(regex("^v[0-9]+[.][0-9]+[.][0-9]+$", var.etcd_version))
    error_message = "etcd_version must look like v3.5.17."
  }
}

variable "gen_rate" {
  description = "Events per second the head generates (166667 is the seed's 10 million a minute)."
  type        = number
  default     = 166667
}

variable "gen_duration" {
  description = "How long the head generates, as a Go duration (10m, 1h)."
  type        = string
  default     = "10m"

  validation {
    condition     = can(regex("^([0-9]+(h|m|s))+$", var.gen_duration))
    error_message = "gen_duration must be a duration such as 10m or 1h30m."
  }
}
