// views/integrations.js: what users see of integrations — their access tokens (Settings),
// the incoming webhooks of a channel (a dialog), slash commands (loaded for the composer's
// suggestions, and run), and the answers only they see (ephemeral notes).

import { h, replace, setTrustedHTML } from '../dom.js';
import * as api from '../api.js';
import { enc, errorText } from '../api.js';
import { formatFull } from '../format.js';
import { wireDialog, openDialog, confirmAction } from './ui.js';

function when(ts) {
  return ts ? formatFull(ts * 1000) : 'never';
}

/** TokensSection lists the user's access tokens in root, with a form to make and revoke them. */
export class TokensSection {
  constructor(root) {
    this.root = root;
    this.list = h('ul', { class: 'token-list', 'aria-label': 'Your access tokens' });
    this.shown = h('div', { class: 'token-new', role: 'status', 'aria-live': 'polite' });
    this.err = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const name = h('input', { id: 'token-name', maxlength: '64', placeholder: 'What it is for (e.g. CI)', autocomplete: 'off' });
    const days = h('select', { id: 'token-expires', 'aria-label': 'Expires' },
      h('option', { value: '30' }, '30 days'), h('option', { value: '90' }, '90 days'),
      h('option', { value: '365' }, '1 year'), h('option', { value: '0' }, 'Never'));
    const form = h('form', { class: 'token-form', on: { submit: (e) => { e.preventDefault(); this.create(name, days); } } },
      h('label', { for: 'token-name' }, 'Token name'),
      h('div', { class: 'row' }, name, days, h('button', { type: 'submit', class: 'btn primary', id: 'token-create' }, 'Create token')),
      this.err);
    replace(root, h('p', { class: 'hint' },
      'Scripts and bots use a token as "Authorization: Bearer <token>" on the API and the WebSocket. It acts as you.'),
    form, this.shown, this.list);
  }

  async refresh() {
    this.shown.textContent = '';
    this.err.hidden = true;
    try {
      const res = await api.get('/api/me/tokens');
      this.draw(res.tokens || []);
    } catch (err) {
      this.error(errorText(err));
    }
  }

  error(text) {
    this.err.textContent = text;
    this.err.hidden = !text;
  }

  draw(tokens) {
    replace(this.list, tokens.length ? tokens.map((t) => h('li', { class: 'token-item', dataset: { id: t.id } },
      h('span', { class: 'token-name' }, t.name || '(no name)'),
      h('span', { class: 'token-meta' }, `created ${when(t.created_ts)} · expires ${when(t.expires_ts)} · last used ${when(t.last_used_ts)}`),
      h('button', { type: 'button', class: 'btn ghost danger token-revoke', 'aria-label': `Revoke token ${t.name || t.id}`, on: { click: () => this.revoke(t) } }, 'Revoke')))
      : h('li', { class: 'hint' }, 'No tokens.'));
  }

  async create(nameEl, daysEl) {
    this.error('');
    try {
      const res = await api.post('/api/me/tokens', { name: nameEl.value.trim(), expires_days: Number(daysEl.value) });
      nameEl.value = '';
      replace(this.shown, h('p', {}, 'Your new token — copy it now, it is not shown again:'),
        h('code', { class: 'token-secret', tabIndex: 0 }, res.token));
      const list = await api.get('/api/me/tokens');
      this.draw(list.tokens || []);
    } catch (err) {
      this.error(errorText(err));
    }
  }

  async revoke(t) {
    if (!(await confirmAction({ title: 'Revoke this token?', text: `Whatever uses "${t.name || t.id}" stops working at once.`, ok: 'Revoke' }))) return;
    try {
      await api.del(`/api/me/tokens/${enc(t.id)}`);
      await this.refresh();
    } catch (err) {
      this.error(errorText(err));
    }
  }
}

/** WebhooksDialog manages the incoming webhooks of one channel, for its members. */
export class WebhooksDialog {
  constructor() {
    this.title = h('h2', { id: 'webhooks-title' }, 'Incoming webhooks');
    this.list = h('ul', { class: 'token-list', 'aria-label': 'Webhooks of this channel' });
    this.shown = h('div', { class: 'token-new', role: 'status', 'aria-live': 'polite' });
    this.err = h('p', { class: 'field-error', role: 'alert', hidden: true });
    this.username = h('input', { id: 'webhook-username', maxlength: '64', placeholder: 'Alerts', autocomplete: 'off' });
    this.dlg = h('dialog', { id: 'webhooks-dialog', class: 'dialog', 'aria-labelledby': 'webhooks-title' },
      h('div', { class: 'dialog-head' }, this.title,
        h('button', { type: 'button', class: 'icon-btn dialog-close', dataset: { close: '' }, 'aria-label': 'Close webhooks' })),
      h('p', { class: 'hint' }, 'Tools that post to Slack (Alertmanager, Grafana, CI) can post here: give them a webhook URL.'),
      h('form', { class: 'token-form', on: { submit: (e) => { e.preventDefault(); this.create(); } } },
        h('label', { for: 'webhook-username' }, 'Name shown on its messages'),
        h('div', { class: 'row' }, this.username, h('button', { type: 'submit', class: 'btn primary', id: 'webhook-create' }, 'Create webhook')),
        this.err),
      this.shown, this.list);
    document.body.append(this.dlg);
    wireDialog(this.dlg);
  }

  async open(conv) {
    this.conv = conv;
    this.title.textContent = `Incoming webhooks of ${conv.kind === 'dm' ? conv.name : '#' + conv.name}`;
    this.shown.textContent = '';
    this.error('');
    openDialog(this.dlg, this.username);
    await this.refresh();
  }

  error(text) {
    this.err.textContent = text;
    this.err.hidden = !text;
  }

  async refresh() {
    try {
      const res = await api.get(`/api/conversations/${enc(this.conv.id)}/webhooks`);
      const hooks = res.webhooks || [];
      replace(this.list, hooks.length ? hooks.map((w) => h('li', { class: 'token-item' },
        h('span', { class: 'token-name' }, w.username || 'webhook'),
        h('span', { class: 'token-meta' }, `made by ${w.creator || 'the administrator'} · ${when(w.created_ts)}`),
        h('button', { type: 'button', class: 'btn ghost', on: { click: () => this.rotate(w) } }, 'New URL'),
        h('button', { type: 'button', class: 'btn ghost danger', on: { click: () => this.revoke(w) } }, 'Delete')))
        : h('li', { class: 'hint' }, 'No webhooks yet.'));
    } catch (err) {
      this.error(errorText(err));
    }
  }

  showURL(url) {
    replace(this.shown, h('p', {}, 'The webhook URL — copy it now, it is not shown again:'), h('code', { class: 'token-secret', tabIndex: 0 }, url));
  }

  async create() {
    this.error('');
    try {
      const res = await api.post(`/api/conversations/${enc(this.conv.id)}/webhooks`, { username: this.username.value.trim() });
      this.username.value = '';
      this.showURL(res.url);
      await this.refresh();
    } catch (err) {
      this.error(errorText(err));
    }
  }

  async rotate(w) {
    try {
      const res = await api.post(`/api/webhooks/${enc(w.id)}/rotate`);
      this.showURL(res.url);
    } catch (err) {
      this.error(errorText(err));
    }
  }

  async revoke(w) {
    if (!(await confirmAction({ title: 'Delete this webhook?', text: 'Whatever posts to its URL will be refused.' }))) return;
    try {
      await api.del(`/api/webhooks/${enc(w.id)}`);
      this.shown.textContent = '';
      await this.refresh();
    } catch (err) {
      this.error(errorText(err));
    }
  }
}

/**
 * Commands loads the slash commands the composer offers and runs one when it is sent.
 * ctx: { onAction(action, convId), showEphemeral(convId, html) }.
 */
export class Commands {
  constructor(ctx) {
    this.ctx = ctx;
    this.list = null;
  }

  /** load returns the commands ({trigger, hint, description, builtin}), fetched once. */
  async load() {
    if (!this.list) {
      try {
        this.list = (await api.get('/api/commands')).commands || [];
      } catch {
        return [];
      }
    }
    return this.list;
  }

  /** isCommand reports whether text is a command to run rather than a message to post. */
  static isCommand(text) {
    return /^\/[a-z0-9_-]+(\s|$)/i.test(text);
  }

  /** run sends a command typed in conversation convId and acts on the answer. */
  async run(convId, text) {
    const res = await api.post(`/api/conversations/${enc(convId)}/commands`, { text });
    if (res.ephemeral) this.ctx.showEphemeral(convId, res.ephemeral);
    if (res.action) this.ctx.onAction(res.action, convId);
    return res;
  }
}

/** ephemeralNote builds the element of an answer only the user sees; onDismiss drops it. */
export function ephemeralNote(html, onDismiss) {
  const body = h('div', { class: 'message-body' });
  setTrustedHTML(body, html);
  return h('div', { class: 'ephemeral', role: 'note' },
    h('span', { class: 'ephemeral-label' }, 'Only you can see this'),
    body,
    h('button', { type: 'button', class: 'link', on: { click: onDismiss } }, 'Dismiss'));
}
