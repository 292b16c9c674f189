package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill a service when the test binary dies
// (a test timeout panics past every cleanup), so that no stray service keeps
// its port, database connections and JetStream consumers.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
