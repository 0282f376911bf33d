// Package slack reads the payloads of Slack's incoming webhooks and the answers of outgoing
// webhooks and slash commands, so that tools that speak Slack (Alertmanager, Grafana, CI
// systems, scripts) can post to MiniMost unchanged. Slack's mrkdwn becomes MiniMost markdown,
// and attachments and Block Kit blocks become HTML cards built only from escaped text and the
// output of the message renderer: nothing in a payload reaches the page as HTML of its own.
package slack
