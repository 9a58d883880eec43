package servers

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// redisCLI is a redis-cli process fed commands on stdin, one at a time:
// each is followed by ECHO __end__, so that the output of the command is
// the lines before "__end__".
type redisCLI struct {
	p   *sockittest.Proc
	out *bufio.Reader
}

func startRedisCLI(t *testing.T, port string) *redisCLI {
	t.Helper()
	cmd := exec.Command(sockittest.Need(t, "redis-cli"), "-h", "127.0.0.1", "-p", port)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	return &redisCLI{p: sockittest.StartCmd(t, cmd), out: bufio.NewReader(stdout)}
}

// do runs one command and returns its output. A client that gets no
// answer within sockittest.Patience is killed, so do returns an error
// rather than hang.
func (c *redisCLI) do(command string) (string, error) {
	if _, err := fmt.Fprintf(c.p.Stdin, "%s\nECHO __end__\n", command); err != nil {
		return "", fmt.Errorf("%s: %v", command, err)
	}
	watchdog := time.AfterFunc(sockittest.Patience, func() { c.p.Cmd.Process.Kill() })
	defer watchdog.Stop()
	var lines []string
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("%s: after %d lines of output: %v; redis-cli stderr: %s", command, len(lines), err, c.p.Stderr())
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "__end__" {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}

// end closes redis-cli's stdin and waits for it to exit.
func (c *redisCLI) end(t *testing.T) {
	t.Helper()
	c.p.Stdin.Close()
	io.Copy(io.Discard, c.out)
	if code := c.p.Wait(30 * time.Second); code != 0 {
		t.Errorf("redis-cli exit %d: %s", code, c.p.Stderr())
	}
}

// session runs commands on c in order and returns each one's outputs,
// in order, by command.
func session(c *redisCLI, commands []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, cmd := range commands {
		s, err := c.do(cmd)
		if err != nil {
			return nil, err
		}
		out[cmd] = append(out[cmd], s)
	}
	return out, nil
}

// TestReplayMatchRedis records two redis-cli clients talking to a real
// redis-server through sockit relay, stops the server, and serves the
// recording on its port with replay --as server --match: two redis-cli
// clients at once, each asking its commands in another order than
// recorded, get what redis-server answered. A command the recording lacks
// gets --default's answer and an error event, the clients go on, and the
// mock exits 1 at the end; a run where everything matched exits 0. With
// --match-key, a command the recording lacks is answered as a recorded
// one with the same command name was.
func TestReplayMatchRedis(t *testing.T) {
	t.Parallel()
	sockittest.Need(t, "redis-server")
	redisPort := strconv.Itoa(sockittest.FreePort(t, false))
	redis := sockittest.StartCmd(t, exec.Command(sockittest.Need(t, "redis-server"),
		"--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"))
	redisAddr := "127.0.0.1:" + redisPort
	sockittest.WaitPort(t, redisAddr)

	// Each client's commands. INCR hits twice: answered 1, then 2. The
	// two clients share only commands that answer the same whoever asks.
	commands := map[string][]string{
		"a": {"SET user:1 alice", "GET user:1", "INCR hits", "RPUSH queue a b c", "LRANGE queue 0 -1", "INCR hits", "HSET h f1 v1 f2 v2", "HGETALL h", "PING"},
		"b": {"SET user:2 bob", "GET user:2", "EXISTS user:1", "GET user:3", "PING", "STRLEN user:2", "INCRBY other 40", "SADD tags x y", "SCARD tags"},
	}

	// Record: both clients connected at once, their commands interleaved.
	relay, relayAddr := startSockit(t, "relay", "--json", "127.0.0.1:0", redisAddr)
	recorded := map[string]map[string][]string{"a": {}, "b": {}}
	clients := map[string]*redisCLI{"a": startRedisCLI(t, port(relayAddr)), "b": startRedisCLI(t, port(relayAddr))}
	for i := 0; i < len(commands["a"]); i++ {
		for _, name := range []string{"a", "b"} {
			cmd := commands[name][i]
			out, err := clients[name].do(cmd)
			if err != nil {
				t.Fatalf("recording, client %s: %v", name, err)
			}
			recorded[name][cmd] = append(recorded[name][cmd], out)
		}
	}
	clients["a"].end(t)
	clients["b"].end(t)
	if got := recorded["a"]["INCR hits"]; !slices.Equal(got, []string{"1", "2"}) || recorded["a"]["GET user:1"][0] != "alice" {
		t.Fatalf("redis-server answered %q", recorded["a"])
	}
	relay.Interrupt()
	if code := relay.Wait(30 * time.Second); code != 130 {
		t.Fatalf("relay exit %d\n%s", code, relay.Stderr())
	}
	rec := writeFile(t, "redis.jsonl", relay.Stdout())
	redis.Interrupt()
	redis.Wait(30 * time.Second)

	// Replay on redis-server's port, for two clients at once, each
	// asking in reverse.
	mock := sockittest.Start(t, "replay", rec, redisAddr, "--as", "server", "--match", "--count", "2")
	mock.Addr()
	replayed := map[string]map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	var cs []*redisCLI
	for _, name := range []string{"a", "b"} {
		c := startRedisCLI(t, redisPort)
		cs = append(cs, c)
		reversed := slices.Clone(commands[name])
		slices.Reverse(reversed)
		// Both clients are connected before either goes on.
		first, err := c.do(reversed[0])
		if err != nil {
			t.Fatalf("replay, client %s: %v", name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := session(c, reversed[1:])
			if err != nil {
				errs <- fmt.Errorf("replay, client %s: %v", name, err)
				return
			}
			out[reversed[0]] = append([]string{first}, out[reversed[0]]...)
			mu.Lock()
			replayed[name] = out
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		for cmd, want := range recorded[name] {
			if got := replayed[name][cmd]; !slices.Equal(got, want) {
				t.Errorf("client %s, %s: the mock answered %q, redis-server %q", name, cmd, got, want)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// --count 2: the mock ends once both clients have left.
	for _, c := range cs {
		c.end(t)
	}
	if code := mock.Wait(30 * time.Second); code != 0 {
		t.Fatalf("mock exit %d, want 0 when every request matched\n%s", code, mock.Stderr())
	}

	// A command the recording lacks: an error event, --default's
	// answer, and the conversation goes on; exit 1 at the end.
	mock = sockittest.Start(t, "replay", rec, redisAddr, "--as", "server", "--match", "--json", "--default", `-ERR not recorded\r\n`)
	mock.Addr()
	c := startRedisCLI(t, redisPort)
	// (redis-cli prints an empty line after an error.)
	for _, x := range [][2]string{{"GET user:1", "alice"}, {"GET nosuch", "ERR not recorded\n"}, {"INCR hits", "1"}} {
		if out, err := c.do(x[0]); err != nil || out != x[1] {
			t.Fatalf("%s: %q (%v), want %q", x[0], out, err, x[1])
		}
	}
	c.end(t)
	mock.Cmd.Process.Signal(syscall.SIGTERM)
	if code := mock.Wait(30 * time.Second); code != 1 || !regexp.MustCompile(`sockit: 1 request of \d+ matched nothing in the recording`).MatchString(mock.Stderr()) {
		t.Fatalf("mock exit %d, want 1 with the count of unmatched requests\n%s", code, mock.Stderr())
	}
	var unmatched []map[string]any
	for _, e := range jsonLines(t, mock.Stdout()) {
		if e["event"] == "error" {
			unmatched = append(unmatched, e)
		}
	}
	if len(unmatched) != 1 || unmatched[0]["error"] != `unmatched request "*2\r\n$3\r\nGET\r\n$6\r\nnosuch\r\n": the recording has no such request` || unmatched[0]["conn"] != float64(1) {
		t.Fatalf("error events %v", unmatched)
	}
	if !strings.Contains(mock.Stderr(), "\nNote that each such request is an error event above") {
		t.Errorf("no what-to-try line after the count of unmatched requests:\n%s", mock.Stderr())
	}
	if !strings.Contains(mock.Stderr(), `: unmatched request "*2\r\n$3\r\nGET\r\n$6\r\nnosuch\r\n"`) {
		t.Errorf("stderr does not show the unmatched request:\n%s", mock.Stderr())
	}

	// --match-key: a request the recording lacks is matched by its
	// command name. Exact matches come first; any other GET gets the
	// recorded GETs' answers in the order they were recorded (alice from
	// client a, then bob from client b); no DEL was recorded.
	mock = sockittest.Start(t, "replay", rec, redisAddr, "--as", "server", "--match", "--json", "--count", "1",
		"--match-key", `^\*\d+\r\n\$\d+\r\n(\w+)\r\n`, "--default", `-ERR not recorded\r\n`)
	mock.Addr()
	c = startRedisCLI(t, redisPort)
	for _, x := range [][2]string{{"GET user:9", "alice"}, {"GET user:1", "alice"}, {"GET user:8", "bob"}, {"DEL user:1", "ERR not recorded\n"}, {"PING", "PONG"}} {
		if out, err := c.do(x[0]); err != nil || out != x[1] {
			t.Fatalf("--match-key, %s: %q (%v), want %q", x[0], out, err, x[1])
		}
	}
	c.end(t)
	if code := mock.Wait(30 * time.Second); code != 1 {
		t.Fatalf("--match-key: mock exit %d, want 1\n%s", code, mock.Stderr())
	}
	unmatched = nil
	for _, e := range jsonLines(t, mock.Stdout()) {
		if e["event"] == "error" {
			unmatched = append(unmatched, e)
		}
	}
	if len(unmatched) != 1 || unmatched[0]["error"] != `unmatched request "*2\r\n$3\r\nDEL\r\n$6\r\nuser:1\r\n": the recording has no request with key "DEL"` {
		t.Fatalf("--match-key: error events %v", unmatched)
	}
}

func TestReplayMatchUsageErrors(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.jsonl", `{"event":"data","conn":1,"dir":"out","text":"x"}`+"\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--as", "client", "--match"}, "--match is for --as server"},
		{[]string{"--as", "server", "--match-key", "x"}, "--match-key, --default and --count need --match"},
		{[]string{"--as", "server", "--count", "2"}, "need --match"},
		{[]string{"--as", "server", "--match", "--expect"}, "--expect checks one client in the recorded order"},
		{[]string{"--as", "server", "--match", "--match-key", "(x"}, `bad --match-key "(x"`},
		{[]string{"--as", "server", "--match", "--default", "hex:zz"}, `--default "hex:zz"`},
		{[]string{"--as", "server", "--match", "--count", "-1"}, `out of range`},
		{[]string{"--as", "server", "--match", "--conn", "7"}, "no conversation 7"},
	} {
		args := append([]string{"replay", good, "127.0.0.1:0"}, tc.args...)
		_, stderr, code := runSockit(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sockit %v: exit %d, stderr %q, want exit 2 with %q", args[1:], code, stderr, tc.want)
		}
	}
	// Conversations framed two ways: the engine names the framing as an
	// option, which the command line writes as its flag.
	mixed := writeFile(t, "mixed.jsonl", `{"event":"connect","conn":1,"frame":"line"}
{"event":"data","conn":1,"dir":"out","text":"x"}
{"event":"connect","conn":2,"frame":"len16"}
{"event":"data","conn":2,"dir":"out","text":"y"}
`)
	_, stderr, code := runSockit(t, "replay", mixed, "127.0.0.1:0", "--as", "server", "--match")
	if want := "conversation 2 was recorded with --frame len16, an earlier one with --frame line"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("mixed framings: exit %d, stderr %q, want exit 2 with %q", code, stderr, want)
	}
	if want := "\nNote that --conn N replays one conversation of the transcript.\n"; !strings.Contains(stderr, want) {
		t.Errorf("mixed framings: stderr %q lacks the what-to-try line %q", stderr, want)
	}
}
