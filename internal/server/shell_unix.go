//go:build unix

package server

import (
	"os/exec"
	"syscall"
)

// Shell says how --exec runs a command on this system, for help and
// messages.
const Shell = "/bin/sh -c"

// shellCommand returns the command that runs line through the shell, in
// a process group of its own, so that ending it reaches what the shell
// started, and Ctrl-C on sockit's terminal reaches sockit first.
func shellCommand(line string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// group is the process group of a started command.
type group struct{ pid int }

func startGroup(cmd *exec.Cmd) (group, error) { return group{pid: cmd.Process.Pid}, nil }

// signal sends sig to every process in the group.
func (g group) signal(sig syscall.Signal) { syscall.Kill(-g.pid, sig) }

// release frees what the group holds once its process has been reaped.
func (g group) release() {}
