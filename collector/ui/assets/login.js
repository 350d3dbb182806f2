// The login page: says so when the previous attempt was refused (the collector redirects with ?failed=1).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (new URLSearchParams(window.location.search).has("failed")) {
    document.getElementById("login-failed").hidden = false;
  }
});
