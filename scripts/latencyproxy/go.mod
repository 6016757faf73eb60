// A TCP proxy that adds network latency in front of a test cluster's API server (see
// docs/testcluster.md). Standard library only, so it builds in seconds.
module charter.dev/latencyproxy

go 1.26.0
