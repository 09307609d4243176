// The dashboard's script: the token in this tab, changes through the JSON API, the try-it and
// compare forms. Everything the registry sends is put in the page as text (textContent), never
// as HTML.
"use strict";

(function () {
  const KEY = "registry-token"; // shared with the Swagger UI page of this server
  const API = "/api/v1";
  const data = JSON.parse(document.getElementById("page-data").textContent || "{}");
  const body = document.body;

  function token() { return window.sessionStorage.getItem(KEY) || ""; }

  function notice(message, isError) {
    const box = document.getElementById("notice");
    box.textContent = message;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = false;
    window.clearTimeout(notice.timer);
    notice.timer = window.setTimeout(() => { box.hidden = true; }, isError ? 12000 : 4000);
  }

  function describeError(answer) {
    const parts = [answer.body && answer.body.message ? answer.body.message : `HTTP ${answer.status}`];
    if (answer.body && answer.body.errors) {
      parts.push(JSON.stringify(answer.body.errors, null, 1));
    }
    return parts.join("\n");
  }

  async function api(method, path, payload) {
    const headers = {};
    const secret = token();
    if (secret) { headers.Authorization = "Bearer " + secret; }
    const options = { method, headers, credentials: "omit" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    const response = await fetch(API + path, options);
    let parsed = null;
    const text = await response.text();
    if (text) {
      try { parsed = JSON.parse(text); } catch (error) { parsed = { message: text.slice(0, 300) }; }
    }
    return { ok: response.ok, status: response.status, body: parsed };
  }

  const enc = encodeURIComponent;
  const modelPath = () => `/models/${enc(data.model)}`;

  async function change(method, path, payload, done) {
    const answer = await api(method, path, payload);
    if (!answer.ok) { notice(describeError(answer), true); return null; }
    notice(done);
    window.setTimeout(() => window.location.reload(), 600);
    return answer;
  }

  // Token: kept in this tab's sessionStorage when signing in; the form posts it to the server
  // too, which keeps it in an HttpOnly cookie for reading pages.
  const signIn = document.getElementById("sign-in");
  if (signIn) {
    signIn.addEventListener("submit", () => {
      window.sessionStorage.setItem(KEY, document.getElementById("token-field").value.trim());
    });
  }
  const signOut = document.getElementById("sign-out-form");
  if (signOut) {
    signOut.addEventListener("submit", () => window.sessionStorage.removeItem(KEY));
  }
  const showSignIn = document.getElementById("show-sign-in");
  if (showSignIn && signIn) {
    showSignIn.addEventListener("click", (event) => {
      event.preventDefault();
      signIn.hidden = false;
      document.getElementById("token-field").focus();
    });
  }

  const mayWrite = body.dataset.mayWrite === "true";
  if (mayWrite && token()) {
    document.querySelectorAll(".actions, .actions-col, [data-action]").forEach((el) => { el.hidden = false; });
  } else if (body.dataset.signedIn === "true" && !token()) {
    document.querySelectorAll(".token-missing").forEach((el) => { el.hidden = false; });
  }

  function parseTags(text) {
    const tags = {};
    for (const line of text.split("\n")) {
      const trimmed = line.trim();
      if (!trimmed) { continue; }
      const at = trimmed.indexOf("=");
      if (at < 1) { throw new Error(`"${trimmed}" is not key=value.`); }
      tags[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
    }
    return tags;
  }

  function openEditor(id) {
    const form = document.getElementById(id);
    if (!form) { return; }
    form.hidden = false;
    const first = form.querySelector("textarea, input");
    if (first) { first.focus(); }
  }

  document.querySelectorAll("form.editor").forEach((form) => {
    form.querySelector(".cancel").addEventListener("click", () => { form.hidden = true; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.target === "alias") {
        const alias = form.elements.alias.value.trim();
        const version = Number(form.elements.version.value);
        await change("PUT", `${modelPath()}/aliases/${enc(alias)}`, { version },
          `Alias ${alias} now points to version ${version}.`);
        return;
      }
      let tags;
      try { tags = parseTags(form.elements.tags.value); } catch (error) { notice(error.message, true); return; }
      const payload = { description: form.elements.description.value, tags };
      const path = form.dataset.target === "version" ? `${modelPath()}/versions/${data.version}` : modelPath();
      await change("PATCH", path, payload, "Saved.");
    });
  });

  async function activate(version) {
    let answer = await api("POST", `${modelPath()}/versions/${version}/activate`);
    if (answer.status === 409 && answer.body && answer.body.code === "incompatible_schema") {
      const problems = (answer.body.errors && answer.body.errors.features) || [];
      const ask = `${answer.body.message}\n\n${problems.join("\n")}\n\nActivate it anyway?`;
      if (!window.confirm(ask)) { return; }
      answer = await api("POST", `${modelPath()}/versions/${version}/activate?force=true`);
    }
    if (!answer.ok) { notice(describeError(answer), true); return; }
    notice(`Version ${version} is active.`);
    window.setTimeout(() => window.location.reload(), 600);
  }

  const actions = {
    "activate": (button) => activate(button.dataset.version),
    "rollback": () => change("POST", `${modelPath()}/rollback`, undefined, "Rolled back."),
    "remove-alias": (button) => {
      if (!window.confirm(`Remove the alias ${button.dataset.alias}?`)) { return null; }
      return change("DELETE", `${modelPath()}/aliases/${enc(button.dataset.alias)}`, undefined,
        `Alias ${button.dataset.alias} removed.`);
    },
    "set-alias": (button) => {
      const form = document.getElementById("alias-form");
      form.elements.version.value = button.dataset.version;
      openEditor("alias-form");
      return null;
    },
    "archive": (button) => {
      const archived = button.dataset.archived !== "true";
      return change("PATCH", `${modelPath()}/versions/${button.dataset.version}`, { archived },
        archived ? "Archived." : "Unarchived.");
    },
    "edit-model": () => openEditor("edit-model"),
    "edit-version": () => openEditor("edit-version"),
  };
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => actions[button.dataset.action](button));
  });

  // Values as the feature spec types them: numbers from number fields, JSON for enum options.
  function typed(feature, raw) {
    if (raw === "" || raw === undefined || raw === null) { return null; }
    if (feature.type === "number" || feature.type === "integer") {
      const value = Number(raw);
      return Number.isNaN(value) ? raw : value;
    }
    if (feature.type === "boolean") {
      const lower = String(raw).trim().toLowerCase();
      if (["true", "1", "yes"].includes(lower)) { return true; }
      if (["false", "0", "no"].includes(lower)) { return false; }
      return raw;
    }
    return String(raw);
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function table(headings, rows) {
    const element = document.createElement("table");
    const head = element.createTHead().insertRow();
    headings.forEach((h) => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    const tbody = element.createTBody();
    rows.forEach((values) => { const row = tbody.insertRow(); values.forEach((v) => cell(row, v)); });
    return element;
  }

  const show = (value) => (typeof value === "number" ? String(Number(value.toPrecision(8))) : JSON.stringify(value));

  const tryForm = document.getElementById("try-form");
  if (tryForm) {
    tryForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const row = {};
      for (const feature of data.features) {
        const field = tryForm.elements[`f:${feature.name}`];
        if (!field) { continue; }
        let value = field.value;
        if (field.tagName === "SELECT" && value !== "") { value = JSON.parse(value); } else { value = typed(feature, value); }
        if (value !== null) { row[feature.name] = value; } else if (!feature.nullable) { row[feature.name] = null; }
      }
      const answer = await api("POST", `${modelPath()}/versions/${data.version}/predict?explain=true`, row);
      const out = document.getElementById("try-result");
      out.replaceChildren();
      out.hidden = false;
      if (!answer.ok) {
        const problem = document.createElement("p");
        problem.className = "problem";
        problem.textContent = describeError(answer);
        out.appendChild(problem);
        return;
      }
      const headline = document.createElement("p");
      headline.id = "try-prediction";
      headline.textContent = `Version ${answer.body.version} predicts ${show(answer.body.prediction)}`;
      out.appendChild(headline);
      if (answer.body.probabilities) {
        out.appendChild(table(["class", "probability"],
          Object.entries(answer.body.probabilities).map(([c, p]) => [c, show(p)])));
      }
      const parts = answer.body.contributions;
      if (parts && Object.values(parts).every((v) => typeof v === "number")) {
        const caption = document.createElement("p");
        caption.textContent = "What each input adds to the score (explain=true):";
        out.appendChild(caption);
        out.appendChild(table(["input", "contribution"], Object.entries(parts).map(([k, v]) => [k, show(v)])));
      } else if (parts) {
        const pre = document.createElement("pre");
        pre.className = "block";
        pre.textContent = "What each input adds to each class's score (explain=true):\n" + JSON.stringify(parts, null, 1);
        out.appendChild(pre);
      }
    });
  }

  // A small CSV reader: commas, double quotes with "" inside, \n or \r\n line ends.
  function parseCsv(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (ch === '"') { quoted = false; }
        else { field += ch; }
      } else if (ch === '"') { quoted = true; }
      else if (ch === ",") { row.push(field); field = ""; }
      else if (ch === "\n" || ch === "\r") {
        if (ch === "\r" && text[i + 1] === "\n") { i++; }
        row.push(field); field = "";
        if (row.some((v) => v !== "")) { rows.push(row); }
        row = [];
      } else { field += ch; }
    }
    row.push(field);
    if (row.some((v) => v !== "")) { rows.push(row); }
    return rows;
  }

  const compareForm = document.getElementById("compare-rows");
  if (compareForm) {
    const file = compareForm.elements.file;
    file.addEventListener("change", async () => {
      if (file.files.length) { compareForm.elements.csv.value = await file.files[0].text(); }
    });
    compareForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = document.getElementById("compare-result");
      out.replaceChildren();
      out.hidden = false;
      const rows = parseCsv(compareForm.elements.csv.value);
      if (rows.length < 2) {
        const p = document.createElement("p");
        p.className = "problem";
        p.textContent = "Paste a header line with the feature names, then one or more rows.";
        out.appendChild(p);
        return;
      }
      const columns = rows[0].map((c) => c.trim());
      const byName = Object.fromEntries(data.features.map((f) => [f.name, f]));
      const values = rows.slice(1).map((r) => columns.map((c, i) => (byName[c] ? typed(byName[c], r[i]) : r[i])));
      const payload = { columns, data: values };
      const answer = await api("POST", `${modelPath()}/compare?a=${data.a}&b=${data.b}`, payload);
      if (!answer.ok) {
        const p = document.createElement("p");
        p.className = "problem";
        p.textContent = describeError(answer);
        out.appendChild(p);
        return;
      }
      const a = answer.body.a, b = answer.body.b, diff = answer.body.difference;
      let result;
      if (a.probabilities) {
        result = table(["row", `v${data.a} label`, `v${data.b} label`, "same label", "probability change (b − a)"],
          diff.map((d, i) => [String(i + 1), show(a.predictions[i]), show(b.predictions[i]), d.same_label ? "yes" : "NO",
            Object.entries(d.probabilities).map(([c, p]) => `${c}: ${show(p)}`).join(", ")]));
      } else {
        result = table(["row", `v${data.a}`, `v${data.b}`, "difference (b − a)"],
          diff.map((d, i) => [String(i + 1), show(a.predictions[i]), show(b.predictions[i]), show(d)]));
      }
      result.id = "compare-table";
      out.appendChild(result);
    });
  }

  // Live traffic: the server renders the section again; only its own elements are taken over.
  const traffic = document.getElementById("traffic");
  if (traffic && traffic.dataset.refresh) {
    window.setInterval(async () => {
      if (document.hidden) { return; }
      const response = await fetch(traffic.dataset.refresh, { credentials: "same-origin" });
      if (!response.ok) { return; }
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      traffic.replaceChildren(...fresh.body.childNodes);
    }, 5000);
  }

  const download = document.getElementById("download");
  if (download) {
    download.addEventListener("click", async (event) => {
      if (!token()) { return; } // open reads: the plain link works
      event.preventDefault();
      const response = await fetch(download.href, { headers: { Authorization: "Bearer " + token() }, credentials: "omit" });
      if (!response.ok) { notice(`The download failed: HTTP ${response.status}`, true); return; }
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = download.dataset.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  }
})();
