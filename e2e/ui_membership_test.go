package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUI_Membership: carol, added to a private channel from alice's members dialog, opens it
// on its history, and everyone reads "alice added carol"; when she leaves, "carol left".
func TestUI_Membership(t *testing.T) {
	t.Parallel()
	d := StartProcess(t, "-auth-burst", "200")
	for _, u := range []string{"alice", "bob", "carol"} {
		d.CreateUser(u, u+"-password")
	}
	aliceAPI := d.NewClient()
	aliceAPI.Login("alice", "alice-password")
	pc := aliceAPI.Must(201, "POST", "/api/private-channels", map[string]any{"name": "launch-plans", "members": []string{"bob"}}).JSON()["conversation"].(map[string]any)["id"].(string)
	aliceAPI.Post(pc, "the launch is on the 3rd")
	aliceAPI.Post(pc, "keep it quiet until then")

	a := d.NewBrowser(1280, 800)
	a.Login("alice", "alice-password")
	bxOpenConv(a, pc)
	c := d.NewBrowser(1280, 800)
	c.Login("carol", "carol-password")

	bxClick(a, "#members-btn")
	a.WaitJS("carol offered", `[...document.querySelectorAll('#invite-user option')].some((o) => o.value === 'carol')`, 10*time.Second)
	a.Run("pick carol", chromedp.SetValue(chromedp.CSS("#invite-user"), "carol"))
	bxClick(a, "#invite-submit")
	line := `[...document.querySelectorAll('#message-list .message.system-line')].some((e) => e.textContent.includes('alice added carol'))`
	a.WaitJS("the system line for alice", line, 10*time.Second)
	a.Run("close", chromedp.Click(chromedp.CSS("#members-dialog .dialog-close")))

	bxOpenConv(c, pc)
	c.WaitJS("carol reads the history and the line", bxHasMessage("the launch is on the 3rd")+` && `+line, 10*time.Second)
	if Eval[bool](c, `/very beginning/.test(document.querySelector('#history-top').textContent) && !document.querySelector('#message-list .message:not(.system-line)')`) {
		t.Errorf("carol sees an empty channel")
	}
	bxAxe(c, "system line")

	bxClick(c, "#members-btn")
	c.WaitJS("leave offered", bxVisible("#leave-channel"), 5*time.Second)
	bxClick(c, "#leave-channel")
	c.Run("confirm", chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")))
	a.WaitJS("carol left", `[...document.querySelectorAll('#message-list .message.system-line')].some((e) => e.textContent.includes('carol left'))`, 10*time.Second)
}
