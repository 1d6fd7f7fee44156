#!/usr/bin/env bash
# destroy.sh — tear the Pulse chain environment down: every instance, the
# key pair and the security group (terraform destroy).
#
#   ./destroy.sh [terraform destroy flags]
#
# Uses the values create.sh wrote to generated.auto.tfvars. TERRAFORM names
# the terraform binary.
set -euo pipefail
cd "$(dirname "$0")"
TERRAFORM=${TERRAFORM:-terraform}

"$TERRAFORM" init -input=false
"$TERRAFORM" destroy -input=false -auto-approve "$@"
echo "destroy.sh: done; nothing of the environment is left running."
