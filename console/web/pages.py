"""The served pages: the login page and the console's page (textual-serve's xterm.js client,
without its web-font request). Every value put in is escaped; nothing secret is ever put in."""

from __future__ import annotations

from html import escape

#: Scripts only from this server, no framing, no referrer (a login link's token must not leak).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
body { background: #0c181f; color: #e6edf3; font-family: menlo, "DejaVu Sans Mono", monospace; margin: 0; }
main { max-width: 34em; margin: 12vh auto; padding: 2em; background: #12232d; border-radius: 6px; }
h1 { font-size: 1.3em; margin-top: 0; }
input, button { font: inherit; padding: .5em; margin: .3em 0; width: 100%; box-sizing: border-box; }
button { background: #5e0ba7; color: #fff; border: none; cursor: pointer; }
.error { color: #ff7b72; }
.hint { color: #8b949e; font-size: .9em; }
"""


def login_page(*, password: bool, error: str | None = None) -> str:
    form = (
        '<form method="post" action="/login">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" autofocus>'
        '<button type="submit">Log in</button></form>'
        if password
        else "<p>Open the login link that <code>audit-console serve</code> printed when it started. "
        "Each link works once; restart serve for a new one, or set a password "
        "(<code>[web] password_hash</code> in the config).</p>"
    )
    said = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Audit Console — log in</title>'
        f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head>'
        f"<body><main><h1>Audit Console</h1>{said}{form}"
        '<p class="hint">The console in this browser acts on the server’s store.</p></main></body></html>'
    )


def console_page(*, websocket_url: str, static_url: str, font_size: int) -> str:
    """textual-serve's page, trimmed: the terminal and the "session ended" box (whose text says
    why, when the server closed the tab)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Audit Console</title>
<link rel="stylesheet" href="{escape(static_url)}css/xterm.css">
<script src="/tab.js"></script>
<script src="{escape(static_url)}js/textual.js"></script>
<style>
body {{ background: #0c181f; margin: 0; }}
.closed-dialog {{ display: none; position: absolute; inset: 0; z-index: 10;
  align-items: center; justify-content: center; }}
body.-closed .closed-dialog {{ display: flex; }}
.closed-dialog .box {{ background: #12232d; color: #e6edf3; padding: 2em; max-width: 40em;
  font-family: menlo, "DejaVu Sans Mono", monospace; }}
.closed-dialog a {{ color: #ac5af4; }}
</style></head>
<body>
<div class="closed-dialog"><div class="box">
<p class="message">Session ended.</p><a href="/">Open the console again</a></div></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{escape(websocket_url)}"
  data-font-size="{font_size}"></div>
</body></html>
"""


#: Before textual.js: when the server closes the tab's websocket with a reason (the session cap),
#: the "session ended" box shows it, as text.
TAB_JS = """(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("close", (event) => {
        const box = document.querySelector(".closed-dialog .message");
        if (box && event.reason) box.textContent = event.reason;
      });
    }
  };
})();
"""
