// Leave a signed-in page for the login page once the server-side idle timeout has passed, so
// that a chart left open on a shared workstation does not stay on screen. The server signs the
// session out on that request (IdleLogoffMiddleware); this only clears the screen.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!seconds) {
    return;
  }
  var timer = null;
  function arm() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var here = window.location.pathname + window.location.search;
      window.location.assign(body.getAttribute("data-login-url") + "?next=" + encodeURIComponent(here));
    }, (seconds + 2) * 1000);
  }
  body.addEventListener("htmx:afterRequest", function (event) {
    // A page's own polling is not activity; only requests a person started re-arm the timer.
    var headers = (event.detail && event.detail.requestConfig && event.detail.requestConfig.headers) || {};
    if (headers["X-Ketacare-Poll"] !== "1") {
      arm();
    }
  });
  arm();
})();
