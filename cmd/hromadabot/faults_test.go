package main_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// TestRunRedisRestart takes Redis away in the middle of a dialog: the person
// hears that the service is briefly unavailable, and once Redis is back the
// same message is answered, without being sent again.
func TestRunRedisRestart(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	redis := miniredis.RunT(t)
	env["REDIS_URL"] = "redis://" + redis.Addr()
	b := startBot(t, env)

	c := newConvo(t, srv, 5570001)
	c.send("/start")
	c.expect("Вітаю!")

	redis.Close()
	c.send("/score Буча")
	c.expect("тимчасово недоступний")
	if err := redis.Restart(); err != nil {
		t.Fatal(err)
	}
	c.expect("Бучанська (Київська обл.)", "Цифровий індекс")
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	checkLog(t, b.stop(t), env, "/score Буча")
}
