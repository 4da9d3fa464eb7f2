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
  // How long until `iso` starts, in the page's words {min, hours, days, started} ("{n}" the number).
  function left(iso, words) {
    var minutes = Math.floor((Date.parse(iso) - Date.now()) / 60000);
    if (minutes < 0) return words.started;
    if (minutes < 120) return words.min.replace("{n}", minutes);
    if (minutes < 48 * 60) return words.hours.replace("{n}", Math.floor(minutes / 60));
    return words.days.replace("{n}", Math.floor(minutes / 1440));
  }
  // The API writes times in the clinic's zone: "2026-12-05T09:00:00+08:00" → "2026-12-05 09:00".
  function local(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }
  /* Live notifications: calls onEvent(notification) for each pushed event, and onEvent(null)
     on every (re)connect (the page refreshes what it shows). Before a socket is trusted, what
     was missed while it was down is fetched (/api/notifications/?after=) and handed over first,
     oldest first; events arriving meanwhile wait, and none is handed over twice. */
  function live(onEvent) {
    var delay = 1000, lastId = null;
    function deliver(event) {
      if (event && event.id) {
        if (lastId !== null && event.id <= lastId) return;
        lastId = event.id;
      }
      onEvent(event);
      unread();
    }
    function missed(url, rows, pages) {
      return api("GET", url).then(function (answer) {
        var body = answer.ok && answer.body ? answer.body : {results: []};
        rows = rows.concat(body.results || []);
        if (body.next && pages < 20) return missed(body.next, rows, pages + 1);
        return rows;
      });
    }
    function catchUp() {
      if (lastId === null) {  // the first connect: the page has just loaded what there is
        return api("GET", "/api/notifications/").then(function (answer) {
          var rows = answer.ok && answer.body ? answer.body.results || [] : [];
          lastId = rows.length ? rows[0].id : 0;
        });
      }
      return missed("/api/notifications/?after=" + lastId, [], 1).then(function (rows) {
        rows.sort(function (a, b) { return a.id - b.id; }).forEach(deliver);
      });
    }
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/ws/notifications/");
      var waiting = [];
      socket.onmessage = function (message) {
        var event;
        try { event = JSON.parse(message.data); } catch (e) { return; /* ignore malformed */ }
        if (waiting) waiting.push(event); else deliver(event);
      };
      socket.onopen = function () {
        delay = 1000;
        catchUp().then(function () {
          var queued = waiting || [];
          waiting = null;
          queued.forEach(deliver);
          onEvent(null);
        });
      };
      socket.onclose = function () { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
    }
    if (window.WebSocket) connect();
  }
  /* Published promotions for the caller into `box`; the section hides when there are none. What
     a logged-in user has been shown counts as read in staff's figures. */
  function showPromotions(box) {
    api("GET", "/api/promotions/").then(function (answer) {
      var shown = [];
      (answer.body || []).forEach(function (p) {
        var card = el("article", {"class": "card"});
        card.appendChild(el("h3", {}, p.title));
        card.appendChild(el("p", {}, p.body));
        box.appendChild(card);
        shown.push(p.id);
      });
      if (!box.children.length) box.parentNode.hidden = true;
      if (shown.length && document.body.dataset.auth) api("POST", "/api/promotions/shown/", {promotions: shown.slice(0, 50)}).then(unread);
    });
  }
  /* The header's count of unread messages (debounced: a burst of events asks once). */
  var unreadTimer = null;
  function unread() {
    clearTimeout(unreadTimer);
    unreadTimer = setTimeout(countUnread, 300);
  }
  function countUnread() {
    var badge = document.getElementById("unread");
    if (!badge) return;
    api("GET", "/api/notifications/?unread=true&page_size=1").then(function (answer) {
      var n = answer.ok && answer.body ? answer.body.count : 0;
      badge.textContent = n ? String(n) : "";
      badge.hidden = !n;
      badge.setAttribute("aria-label", n ? badge.dataset.label.replace("{n}", n) : "");
    });
  }
  document.addEventListener("DOMContentLoaded", countUnread);
  return {api: api, el: el, hhmm: hhmm, local: local, left: left, live: live, unread: unread, cookie: cookie, showPromotions: showPromotions};
})();
