// Package markdown renders MiniMost chat message text to HTML that is safe to
// insert into a page with innerHTML.
//
// Render is the only entry point. It parses the message as CommonMark with a
// chat-oriented set of extensions (GFM strikethrough, tables, linkified bare
// URLs, hard line breaks) and renders it with a restricted HTML vocabulary:
//
//   - Raw HTML in the message is never passed through; it is shown as text.
//   - Links keep only http, https and mailto destinations; any other link is
//     rendered as its plain text. Every link opens in a new tab with
//     rel="noopener noreferrer nofollow".
//   - Images are never embedded (they could be used for tracking); they are
//     rendered as a link to the image URL labelled with the alt text.
//   - Fenced code gets a sanitized "language-xxx" class; code content is
//     always escaped.
//   - @mentions of users (and @here, @channel, @all) become
//     <span class="mention" data-user="name">@name</span> and are returned
//     to the caller, unique and in order of first appearance.
//
// The output only ever contains the elements p, br, em, strong, del, code,
// pre, blockquote, ul, ol, li, a, span, h1-h6, hr, table, thead, tbody, tr,
// th and td, and the attributes href, rel, target, class, data-user, align
// and start. The tests enforce this for a corpus of XSS payloads and by
// fuzzing.
package markdown
