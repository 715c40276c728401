// Package console is the terminal channel: a person chats with the bot in a
// terminal, without any chat account. Replies are printed as plain text,
// their buttons numbered ("[1] 📊 Моя громада"); typing a number presses a
// button, anything else is sent as a message. Each line read is one
// message, so a conversation can also be scripted through standard input.
package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// Options configure a Console. Zero fields take the defaults.
type Options struct {
	// Platform and UserID say who the person is: by default the console's
	// own user ("console", "local"); "telegram" and an id act as that
	// Telegram user.
	Platform string
	UserID   string
	// LanguageCode is the platform language hint; by default Ukrainian.
	LanguageCode string
	// Interactive prints a prompt before each line, for a person at a
	// terminal. Otherwise each line read is echoed after "> ", so that a
	// scripted conversation reads as a transcript.
	Interactive bool
}

// Console is a chat in a terminal.
type Console struct {
	h    bot.Handler
	in   io.Reader
	out  io.Writer
	opts Options

	// session makes update ids unique across runs on one database, since
	// reports are deduplicated by them.
	session string
	n       int
	// menu is the buttons of the latest reply that had any, in the order
	// they are numbered.
	menu []bot.Button
}

// New returns a console that sends what it reads from in to h and prints
// the replies to out.
func New(h bot.Handler, in io.Reader, out io.Writer, opts Options) *Console {
	if opts.Platform == "" {
		opts.Platform = hromadabot.PlatformConsole
	}
	if opts.UserID == "" {
		opts.UserID = "local"
	}
	if opts.LanguageCode == "" {
		opts.LanguageCode = hromadabot.LangUK
	}
	return &Console{h: h, in: in, out: out, opts: opts, session: strings.ToLower(rand.Text()[:8])}
}

// Run reads messages until the input ends or ctx is done; both end the
// chat normally. It returns an error only when reading or writing fails.
func (c *Console) Run(ctx context.Context) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.in)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		if c.opts.Interactive {
			if _, err := fmt.Fprint(c.out, "> "); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		var line string
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				if c.opts.Interactive {
					fmt.Fprintln(c.out)
				}
				select {
				case err := <-readErr:
					if err != nil {
						return fmt.Errorf("read: %w", err)
					}
				default:
				}
				return nil
			}
			line = strings.TrimRight(l, "\r")
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !c.opts.Interactive {
			fmt.Fprintf(c.out, "> %s\n", line)
		}
		if err := c.send(ctx, line); err != nil {
			return err
		}
	}
}

// send turns one line into an event, or a button press, and prints the
// replies.
func (c *Console) send(ctx context.Context, line string) error {
	c.n++
	ev := bot.Event{
		Platform:     c.opts.Platform,
		UpdateID:     fmt.Sprintf("console:%s:%d", c.session, c.n),
		ChatID:       c.opts.UserID,
		UserID:       c.opts.UserID,
		LanguageCode: c.opts.LanguageCode,
		At:           time.Now(),
	}
	if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n >= 1 && n <= len(c.menu) {
		b := c.menu[n-1]
		if b.URL != "" {
			_, err := fmt.Fprintf(c.out, "%s\n\n", b.URL)
			return err
		}
		ev.Payload, ev.MenuID = b.Payload, "console-menu"
	} else {
		// A leading apostrophe sends a number as text where it would
		// press a button: '1 is the message "1".
		ev.Text = strings.TrimPrefix(line, "'")
	}
	replies, err := c.h.Handle(ctx, ev)
	if perr := c.print(replies); perr != nil {
		return perr
	}
	if err != nil {
		_, werr := fmt.Fprintf(c.out, "(помилка: %v)\n\n", err)
		return werr
	}
	return nil
}

func (c *Console) print(replies []bot.Reply) error {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(bot.PlainText(r.Text))
		b.WriteString("\n")
		if r.Image != nil {
			if png, err := r.Image.Bytes(); err != nil {
				fmt.Fprintf(&b, "[зображення %s не намальовано]\n", r.Image.Name)
			} else {
				fmt.Fprintf(&b, "[зображення %s, %d байт]\n", r.Image.Name, len(png))
			}
		}
		if len(r.Buttons) == 0 {
			b.WriteString("\n")
			continue
		}
		c.menu = c.menu[:0]
		for _, row := range r.Buttons {
			b.WriteString(" ")
			for _, btn := range row {
				c.menu = append(c.menu, btn)
				fmt.Fprintf(&b, " [%d] %s", len(c.menu), btn.Text)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(c.out, b.String())
	return err
}
