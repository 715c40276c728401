package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
)

// childEnv makes the test binary run `hromadabot run` as main would, so
// that a test can kill a real bot process with SIGKILL.
const childEnv = "HROMADABOT_TEST_CHILD"

func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return main.RunMainStreams(ctx, []string{"run"}, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
}

// botProcess is `hromadabot run` in a process of its own.
type botProcess struct {
	cmd *exec.Cmd
	log *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startProcess(t *testing.T, env map[string]string) *botProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &botProcess{cmd: cmd, log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// kill ends the process with SIGKILL: nothing of it gets to clean up.
func (p *botProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// stop ends the process with SIGTERM and expects a clean exit.
func (p *botProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v\n%s", err, p.log.String())
	}
}

// TestRunSurvivesSIGKILL kills the bot process while updates of many chats
// wait and are being handled, then starts it again: every update is
// answered, each chat's answers come in the order of its messages, and a
// report whose Save was handled but never confirmed is stored once.
func TestRunSurvivesSIGKILL(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	env["LOG_LEVEL"] = "warn"
	env["REDIS_URL"] = liveRedis(t)

	// A CDTO's Save is handled, then the process dies before its offset
	// reaches Telegram: getUpdates is cut off, so nothing more is confirmed.
	p := startProcess(t, env)
	cdto := newConvo(t, srv, 5560000)
	db, community := becomeCDTO(t, cdto, env)
	reportUpToSummary(cdto)
	save := saveUnconfirmed(cdto)
	p.kill(t)
	srv.Clear("getUpdates")

	// The second process is killed in the middle of a burst of many chats.
	queries := []struct{ text, answer string }{
		{"/score Буча", "Бучанська (Київська обл.)"},
		{"/score Ірпінь", "Ірпінська (Київська обл.)"},
		{"/score Славутич", "Славутицька (Київська обл.)"},
		{"/score Вінниця", "Вінницька (Вінницька обл.)"},
	}
	residents := make([]*convo, 8)
	for i := range residents {
		residents[i] = newConvo(t, srv, 5560001+int64(i))
	}
	p = startProcess(t, env)
	for _, q := range queries {
		for _, r := range residents {
			r.send(q.text)
		}
	}
	if _, err := srv.WaitFor(cdto.ctx, func(r telegramtest.Request) bool { return r.Method == "sendPhoto" }); err != nil {
		t.Fatal(err)
	}
	p.kill(t)
	answeredBefore := map[int64]int{}
	for _, r := range residents {
		answeredBefore[r.u.ID] = len(telegramtest.BotMessages(srv.Chat(r.u.ID)))
	}

	p = startProcess(t, env)
	for _, r := range residents {
		msgs, err := srv.WaitChat(r.ctx, r.u.ID, func(msgs []telegramtest.Message) bool {
			return strings.Contains(botTexts(msgs), queries[len(queries)-1].answer)
		})
		if err != nil {
			t.Fatalf("chat %d: %v\n%s", r.u.ID, err, p.log.String())
		}
		// Each process answers in the order asked. What the killed one
		// handled but never confirmed, the next one gets again and answers
		// again: a repeat, never a skip.
		answers := telegramtest.BotMessages(msgs)
		before := answerOrder(answers[:answeredBefore[r.u.ID]], queries)
		after := answerOrder(answers[answeredBefore[r.u.ID]:], queries)
		asked := map[int]bool{}
		for _, part := range [][]int{before, after} {
			for i, q := range part {
				asked[q] = true
				if i > 0 && q < part[i-1] {
					t.Fatalf("chat %d: answers %v then %v (query numbers), want each process in the order asked", r.u.ID, before, after)
				}
			}
		}
		if len(asked) != len(queries) {
			t.Fatalf("chat %d: answers %v then %v (query numbers), want every query answered", r.u.ID, before, after)
		}
	}
	if err := srv.WaitDrained(cdto.ctx); err != nil {
		t.Fatal(err)
	}
	p.stop(t)

	rs, err := db.Reports(cdto.ctx, hromadabot.ReportFilter{CommunityID: community})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].DedupKey != "telegram:"+strconv.Itoa(save) {
		t.Fatalf("stored %d reports %+v, want the one report of the Save press %d", len(rs), rs, save)
	}
	if ids := srv.Unanswered(); len(ids) != 0 {
		t.Errorf("button presses left unanswered: %v", ids)
	}
}

// liveRedis returns REDIS_URL when set, else a miniredis whose clock keeps
// up with real time: the killed process's chat locks must expire by
// themselves, as they do in Redis, and miniredis moves its clock only when
// told to.
func liveRedis(t *testing.T) string {
	if url := os.Getenv("REDIS_URL"); url != "" {
		return url
	}
	m := miniredis.RunT(t)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// Forward by the time that really passed, which under load is
		// more than the tick asked for.
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-time.After(50 * time.Millisecond):
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return "redis://" + m.Addr()
}

// answerOrder maps the bot's messages to the numbers of the queries they answer.
func answerOrder(msgs []telegramtest.Message, queries []struct{ text, answer string }) []int {
	var order []int
	for _, m := range msgs {
		for i, q := range queries {
			if strings.Contains(m.Text, q.answer) {
				order = append(order, i)
			}
		}
	}
	return order
}

func botTexts(msgs []telegramtest.Message) string {
	var b strings.Builder
	for _, m := range telegramtest.BotMessages(msgs) {
		b.WriteString(m.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
