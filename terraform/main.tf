# The chain-of-instances performance environment: chain_length instances
# forward events to each other (head → middle hops → tail), optionally fan
# out to two sink clusters, and find each other through etcd, so that
# terraform creates them all in parallel. See README.md.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "pulse"
      Environment = var.name
    }
  }
}

locals {
  pulse_port = 8440
  etcd_port  = 2379

  etcd_arch        = var.architecture == "arm64" ? "arm64" : "amd64"
  etcd_release_url = "https://github.com/etcd-io/etcd/releases/download/${var.etcd_version}/etcd-${var.etcd_version}-linux-${local.etcd_arch}.tar.gz"
  etcd_endpoint    = var.etcd_endpoint != "" ? var.etcd_endpoint : "http://${aws_instance.etcd[0].private_ip}:${local.etcd_port}"
  # A fresh key prefix per environment (the key pair's generated name):
  # stale registrations of an earlier environment in a shared etcd are
  # never read.
  etcd_prefix = "/pulse/${aws_key_pair.pulse.key_name}"

  upload     = var.pulse_binary_path != ""
  sink_count = var.fanout && var.chain_length > 2 ? 2 * var.sinks_per_cluster : 0

  # What every instance's bootstrap needs, written to /opt/pulse/bootstrap
  # by user-data: the same files the local tests render and run.
  bootstrap_files = {
    "bootstrap.sh"       = file("${path.module}/templates/bootstrap.sh")
    "head.yaml"          = file("${path.module}/templates/head.yaml")
    "middle.yaml"        = file("${path.module}/templates/middle.yaml")
    "middle-fanout.yaml" = file("${path.module}/templates/middle-fanout.yaml")
    "tail.yaml"          = file("${path.module}/templates/tail.yaml")
    "pulse-gen.service"  = file("${path.module}/templates/pulse-gen.service")
    "pulse-sink.service" = file("${path.module}/templates/pulse-sink.service")
    "pulse.service"      = file("${path.module}/../deploy/pulse.service")
  }

  user_data_common = {
    files             = local.bootstrap_files
    chain_length      = var.chain_length
    fanout            = var.fanout
    sinks_per_cluster = var.sinks_per_cluster
    etcd_endpoint     = local.etcd_endpoint
    etcd_prefix       = local.etcd_prefix
    etcd_release_url  = local.etcd_release_url
    pulse_release_url = var.pulse_release_url
    upload            = local.upload
    pulse_port        = local.pulse_port
    gen_rate          = var.gen_rate
    gen_duration      = var.gen_duration
  }

  ami_parameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

data "aws_ssm_parameter" "ami" {
  name = local.ami_parameter
}

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

locals {
  ami = nonsensitive(data.aws_ssm_parameter.ami.value)
  # One subnet, so one availability zone: no cross-zone traffic charges and
  # the lowest latency between hops.
  subnet_id = sort(data.aws_subnets.default.ids)[0]
}

resource "aws_key_pair" "pulse" {
  key_name_prefix = "${var.name}-"
  public_key      = file(pathexpand(var.ssh_public_key_path))
}

resource "aws_security_group" "chain" {
  name_prefix = "${var.name}-"
  description = "Pulse chain: Pulse and etcd between members only, SSH from allowed_ssh_cidr"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description = "Pulse between chain members"
    from_port   = local.pulse_port
    to_port     = local.pulse_port
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "etcd between chain members"
    from_port   = local.etcd_port
    to_port     = local.etcd_port
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.allowed_ssh_cidr]
  }

  egress {
    description = "Downloads (packages, releases)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The registry the chain meets in, unless etcd_endpoint names one.
resource "aws_instance" "etcd" {
  count = var.etcd_endpoint == "" ? 1 : 0

  ami                         = local.ami
  instance_type               = var.etcd_instance_type
  subnet_id                   = local.subnet_id
  key_name                    = aws_key_pair.pulse.key_name
  vpc_security_group_ids      = [aws_security_group.chain.id]
  associate_public_ip_address = true
  user_data_replace_on_change = true
  user_data = templatefile("${path.module}/templates/etcd-user-data.sh.tftpl", {
    etcd_release_url = local.etcd_release_url
    etcd_port        = local.etcd_port
  })

  metadata_options {
    http_tokens = "required"
  }

  tags = {
    Name = "${var.name}-etcd"
    Role = "etcd"
  }
}

# The chain, head (0) to tail (chain_length - 1). Each instance learns the
# next hop's address from etcd at boot, so none depends on another here.
resource "aws_instance" "hop" {
  count = var.chain_length

  ami                         = local.ami
  instance_type               = var.instance_type
  subnet_id                   = local.subnet_id
  key_name                    = aws_key_pair.pulse.key_name
  vpc_security_group_ids      = [aws_security_group.chain.id]
  associate_public_ip_address = true
  user_data_replace_on_change = true
  # gzip keeps the embedded bootstrap files under EC2's 16 KiB limit;
  # cloud-init unpacks it.
  user_data_base64 = base64gzip(templatefile("${path.module}/templates/user-data.sh.tftpl", merge(local.user_data_common, {
    role         = ""
    position     = count.index
    sink_cluster = ""
    sink_index   = 0
  })))

  root_block_device {
    volume_size = var.root_volume_gb
    volume_type = "gp3"
  }

  metadata_options {
    http_tokens = "required"
  }

  tags = {
    Name = "${var.name}-hop-${count.index}"
    Role = count.index == 0 ? "head" : count.index == var.chain_length - 1 ? "tail" : "middle"
  }

  lifecycle {
    precondition {
      condition     = (var.pulse_release_url == "") != (var.pulse_binary_path == "")
      error_message = "Set exactly one of pulse_release_url and pulse_binary_path."
    }
  }
}

# Fanout sink clusters b and c, sinks_per_cluster nodes each.
resource "aws_instance" "sink" {
  count = local.sink_count

  ami                         = local.ami
  instance_type               = var.instance_type
  subnet_id                   = local.subnet_id
  key_name                    = aws_key_pair.pulse.key_name
  vpc_security_group_ids      = [aws_security_group.chain.id]
  associate_public_ip_address = true
  user_data_replace_on_change = true
  user_data_base64 = base64gzip(templatefile("${path.module}/templates/user-data.sh.tftpl", merge(local.user_data_common, {
    role         = "sink"
    position     = 0
    sink_cluster = count.index < var.sinks_per_cluster ? "b" : "c"
    sink_index   = count.index % var.sinks_per_cluster
  })))

  root_block_device {
    volume_size = var.root_volume_gb
    volume_type = "gp3"
  }

  metadata_options {
    http_tokens = "required"
  }

  tags = {
    Name = "${var.name}-sink-${count.index < var.sinks_per_cluster ? "b" : "c"}-${count.index % var.sinks_per_cluster}"
    Role = "sink"
  }
}

locals {
  nodes = concat(aws_instance.hop, aws_instance.sink)
}

# With pulse_binary_path, the binary goes to every instance over SSH while
# its bootstrap already runs (and waits for it): still no instance waits
# for another.
resource "terraform_data" "upload" {
  count = local.upload ? var.chain_length + local.sink_count : 0

  triggers_replace = [local.nodes[count.index].id, filesha256(var.pulse_binary_path)]

  connection {
    type        = "ssh"
    host        = local.nodes[count.index].public_ip
    user        = "ec2-user"
    private_key = var.ssh_private_key_path != "" ? file(pathexpand(var.ssh_private_key_path)) : null
    agent       = var.ssh_private_key_path == ""
    timeout     = "10m"
  }

  provisioner "file" {
    source      = var.pulse_binary_path
    destination = "/tmp/pulse.upload"
  }

  # Through a temporary name and a rename: bootstrap.sh never sees half a
  # binary.
  provisioner "remote-exec" {
    inline = [
      "sudo install -D -m 0755 /tmp/pulse.upload /opt/pulse/upload/.pulse.new",
      "sudo mv -f /opt/pulse/upload/.pulse.new /opt/pulse/upload/pulse",
      "rm -f /tmp/pulse.upload",
    ]
  }
}
