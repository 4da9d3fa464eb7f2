/* Small helpers shared by the pages: JSON API calls with the session's CSRF token. */
window.clinic = (function () {
  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }
  function api(method, url, body) {
    var options = {method: method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (method !== "GET") options.headers["X-CSRFToken"] = cookie("csrftoken");
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = {detail: text}; }
        return {ok: response.ok, status: response.status, body: data};
      });
    }, function () {
      return {ok: false, status: 0, body: {detail: document.documentElement.lang === "en" ? "No connection. Please try again." : "网络连接失败，请重试。"}};
    });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function hhmm(iso) { return iso.slice(11, 16); }
  /* Live notifications: calls onEvent(notification) for each pushed event; reconnects. */
  function live(onEvent) {
    var delay = 1000;
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/ws/notifications/");
      socket.onmessage = function (message) {
        try { onEvent(JSON.parse(message.data)); } catch (e) { /* ignore malformed */ }
      };
      socket.onopen = function () { delay = 1000; onEvent(null); };
      socket.onclose = function () { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
    }
    if (window.WebSocket) connect();
  }
  /* Published promotions for the caller into `box`; the section hides when there are none. */
  function showPromotions(box) {
    api("GET", "/api/promotions/").then(function (answer) {
      (answer.body || []).forEach(function (p) {
        var card = el("article", {"class": "card"});
        card.appendChild(el("h3", {}, p.title));
        card.appendChild(el("p", {}, p.body));
        box.appendChild(card);
      });
      if (!box.children.length) box.parentNode.hidden = true;
    });
  }
  return {api: api, el: el, hhmm: hhmm, live: live, cookie: cookie, showPromotions: showPromotions};
})();
