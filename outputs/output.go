package outputs

import "context"

// Output delivers batches from a Source until ctx is done.
type Output interface {
	// Run returns nil when ctx is cancelled; batches not yet acknowledged
	// remain in the Source for next time.
	Run(ctx context.Context, src Source) error
}

// Node sends one batch to one endpoint. It is the seam for load balancing:
// an output chooses a node per attempt and retries by the error's type.
//
// Send returns nil once the endpoint has confirmed the batch, a
// *RetryableError when the batch may succeed later, and any other error when
// the endpoint rejected the batch for good.
type Node interface {
	Send(ctx context.Context, b Batch) error
}
