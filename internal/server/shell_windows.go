package server

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Shell says how --exec runs a command on this system, for help and
// messages.
const Shell = "cmd /c"

// shellCommand returns the command that runs line through cmd.exe.
//
// cmd.exe does not parse its command line with the quoting rules Go's
// os/exec uses for arguments, so the line is passed verbatim as
// `cmd /d /s /c "LINE"`: /s makes cmd strip exactly the outer quotes and
// run the rest as typed, /d skips AutoRun commands from the registry.
// The process starts in a new process group, so that Ctrl-C on sockit's
// console reaches sockit and not the command, as Setpgid does on Unix.
func shellCommand(line string) *exec.Cmd {
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = `C:\Windows\System32\cmd.exe`
	}
	cmd := exec.Command(comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CmdLine:       fmt.Sprintf(`cmd /d /s /c "%s"`, line),
		CreationFlags: windows.CREATE_NEW_PROCESS_GROUP,
	}
	return cmd
}

// group is a Windows job object holding the command and everything it
// starts, the counterpart of a Unix process group: cmd.exe does not pass
// anything on to its children, and killing it alone would leave them
// running (and holding the output pipe open).
//
// The process is put in the job just after it starts, so a child started
// in that first instant escapes it; nothing else in the standard library
// or golang.org/x/sys/windows starts a process inside a job.
type group struct {
	job windows.Handle
	pid uint32
}

func startGroup(cmd *exec.Cmd) (group, error) {
	g := group{pid: uint32(cmd.Process.Pid)}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return g, os.NewSyscallError("CreateJobObject", err)
	}
	// Closing the job's last handle (sockit exiting, even killed) ends
	// every process in it.
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return g, os.NewSyscallError("SetInformationJobObject", err)
	}
	ph, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, g.pid)
	if err != nil {
		windows.CloseHandle(job)
		return g, os.NewSyscallError("OpenProcess", err)
	}
	defer windows.CloseHandle(ph)
	if err := windows.AssignProcessToJobObject(job, ph); err != nil {
		windows.CloseHandle(job)
		return g, os.NewSyscallError("AssignProcessToJobObject", err)
	}
	g.job = job
	return g, nil
}

// signal asks the group to end (SIGTERM: a Ctrl-Break to its process
// group, which works when sockit has a console) or ends it at once
// (SIGKILL, or SIGTERM without a console: TerminateJobObject).
func (g group) signal(sig syscall.Signal) {
	if sig == syscall.SIGTERM {
		if windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, g.pid) == nil {
			return
		}
	}
	if g.job != 0 {
		windows.TerminateJobObject(g.job, 1)
		return
	}
	if p, err := os.FindProcess(int(g.pid)); err == nil {
		p.Kill()
	}
}

// release closes the job once its process has been reaped; with
// KILL_ON_JOB_CLOSE, that also ends anything the command left behind.
func (g group) release() {
	if g.job != 0 {
		windows.CloseHandle(g.job)
	}
}
