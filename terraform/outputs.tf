output "public_ips" {
  description = "Public IPs of the chain, head first, tail last."
  value       = aws_instance.hop[*].public_ip
}

output "private_ips" {
  description = "Private IPs of the chain, head first: the addresses registered in etcd."
  value       = aws_instance.hop[*].private_ip
}

output "sink_public_ips" {
  description = "Public IPs of the fanout sink nodes, cluster b then cluster c (empty without fanout)."
  value       = aws_instance.sink[*].public_ip
}

output "etcd_endpoint" {
  description = "The etcd the instances register in."
  value       = local.etcd_endpoint
}

output "etcd_prefix" {
  description = "Key prefix of this environment in etcd: <prefix>/chain/<position>, <prefix>/sinks/<cluster>/<index>."
  value       = local.etcd_prefix
}

output "summary" {
  description = "One line per instance: name, role and public IP."
  value = join("\n", concat(
    [for i, h in aws_instance.hop : format("%-12s %-6s %s", "hop-${i}", i == 0 ? "head" : i == var.chain_length - 1 ? "tail" : "middle", h.public_ip)],
    [for s in aws_instance.sink : format("%-12s %-6s %s", trimprefix(s.tags.Name, "${var.name}-"), "sink", s.public_ip)],
  ))
}

output "cssh" {
  description = "Open a terminal on every instance at once."
  value       = "cssh -l ec2-user ${join(" ", concat(aws_instance.hop[*].public_ip, aws_instance.sink[*].public_ip))}"
}
