// crossprocess_test.go: replicas as child processes of the test binary,
// killed with SIGKILL.

package etcd

const replicaEnv = "ARBOR_ETCD_REPLICA"

func replicaMain() int { return 2 }
