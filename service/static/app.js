/* The moderator's page. Vanilla JS, no dependencies. Every piece of user or model text is put in
   the page as a text node (textContent / createTextNode), never as HTML, so pasted markup and
   scripts are shown, not run. */
"use strict";

(function () {
  var BATCH_TEXTS = 1000;          // the service's MAX_TEXTS
  var BATCH_BYTES = 900000;        // under the service's 1,000,000-byte body limit
  var NEW_COLUMNS = ["label", "p_editorial", "decision", "kind"];

  // ---- small DOM helpers (dom.js) -----------------------------------------------------------
  var $ = window.deskDOM.$, el = window.deskDOM.el, clear = window.deskDOM.clear;

  function setStatus(node, message, kind) {
    node.textContent = message || "";
    node.className = "status" + (kind ? " status-" + kind : "");
  }

  function fmt(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits === undefined ? 4 : digits) : "—";
  }

  function pct(value) {
    return typeof value === "number" && isFinite(value) ? (100 * value).toFixed(1) + "%" : "—";
  }

  function signed(value) { return (value >= 0 ? "+" : "−") + Math.abs(value).toFixed(3); }

  // ---- talking to the service --------------------------------------------------------------
  /* The moderator's key and name live in sessionStorage: gone when the tab closes, never in a
     cookie or the page's URL. The key goes with every request, for services that require one. */
  function setting(name) {
    try { return (window.sessionStorage.getItem("comment-classifier." + name) || "").trim(); }
    catch (ignored) { return ""; }
  }

  function remember(name, value) {
    try { window.sessionStorage.setItem("comment-classifier." + name, value); } catch (ignored) { /* private mode */ }
  }

  function headers(extra) {
    var all = Object.assign({ "Accept": "application/json" }, extra || {});
    var key = setting("api-key");
    if (key) all.Authorization = "Bearer " + key;
    return all;
  }

  function postJSON(path, body) {
    return fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: typeof body === "string" ? body : JSON.stringify(body)
    }).then(readJSON);
  }

  function readJSON(response) {
    return response.text().then(function (raw) {
      var data = null;
      try { data = raw ? JSON.parse(raw) : null; } catch (ignored) { data = null; }
      if (!response.ok) {
        var error = new Error(data && data.error && data.error.message
          ? data.error.message + " (" + data.error.code + ")"
          : "the service answered " + response.status + " " + response.statusText);
        error.apiError = data && data.error;
        throw error;
      }
      if (data === null) throw new Error("the service answered something that is not JSON");
      return data;
    });
  }

  function errorText(error) {
    if (error instanceof TypeError) return "Could not reach the service (" + error.message + ").";
    return error.message || String(error);
  }

  // ---- highlighting ------------------------------------------------------------------------
  /* Spans are [start, end) offsets in Unicode code points (Python's str), while JS strings count
     UTF-16 units; Array.from splits into code points, so an emoji does not shift every mark.
     Terms may overlap ("?" inside "w ? ?"): the text is cut at every span boundary and each piece
     is marked by the terms covering it, coloured by the sign of their summed weight. */
  function highlighted(text, terms) {
    var chars = Array.from(text);
    var n = chars.length;
    var cuts = {0: true};
    cuts[n] = true;
    var spans = [];
    (terms || []).forEach(function (term) {
      (term.spans || []).forEach(function (span) {
        var start = Math.max(0, Math.min(n, span[0] | 0));
        var end = Math.max(0, Math.min(n, span[1] | 0));
        if (end <= start) return;
        spans.push({ start: start, end: end, term: term });
        cuts[start] = true;
        cuts[end] = true;
      });
    });
    var points = Object.keys(cuts).map(Number).sort(function (a, b) { return a - b; });
    var fragment = document.createDocumentFragment();
    var marks = 0;
    for (var i = 0; i + 1 < points.length; i++) {
      var a = points[i], b = points[i + 1];
      var piece = chars.slice(a, b).join("");
      var covering = [];
      spans.forEach(function (span) {
        if (span.start <= a && span.end >= b && covering.indexOf(span.term) < 0) covering.push(span.term);
      });
      if (!covering.length) {
        fragment.appendChild(document.createTextNode(piece));
        continue;
      }
      var total = covering.reduce(function (sum, term) { return sum + term.weight; }, 0);
      var mark = document.createElement("mark");
      mark.className = "term " + (total >= 0 ? "term-pos" : "term-neg");
      mark.title = covering.map(function (term) {
        return "“" + term.term + "” (" + term.block + ") " + signed(term.weight);
      }).join("\n");
      mark.setAttribute("data-weight", total.toFixed(4));
      mark.textContent = piece;
      fragment.appendChild(mark);
      marks++;
    }
    return { node: fragment, marks: marks };
  }

  // ---- analysing a text or page ------------------------------------------------------------
  function probabilityBar(p) {
    var value = Math.round(p * 1000) / 10;
    var bar = el("div", {
      className: "pbar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(value), "aria-label": "P(editorial) " + value.toFixed(1) + "%"
    }, [el("div", { className: "pbar-fill" })]);
    bar.firstChild.style.width = value + "%";
    return el("div", { className: "prob" }, [
      el("span", { className: "prob-label", text: "P(editorial) " + p.toFixed(3) }), bar
    ]);
  }

  function termList(terms) {
    var words = window.CommentClassifierWords;  // queue.js: the cues in plain words
    if (words) {
      return el("ul", { className: "terms" }, words.cues({ terms: terms }, 5).map(function (cue) {
        return el("li", { className: cue.weight >= 0 ? "tpos" : "tneg",
          text: cue.words + " (points to " + (cue.weight >= 0 ? "editorial" : "comment") + ")" });
      }));
    }
    var list = el("ul", { className: "terms" });
    (terms || []).forEach(function (term) {
      list.appendChild(el("li", { className: term.weight >= 0 ? "tpos" : "tneg" }, [
        el("code", { text: term.term }), " ", el("span", { className: "w", text: signed(term.weight) })
      ]));
    });
    return list;
  }

  /* Two buttons per block: the moderator's verdict goes to /v1/feedback with what the model
     said (version and scores), so a retraining learns from it. Agreeing is a verdict too. */
  function correction(block, modelVersion) {
    var status = el("span", { className: "feedback-status", role: "status", "aria-live": "polite" });
    var row = el("div", { className: "feedback", role: "group",
      "aria-label": "Correct block " + (block.index + 1) });
    row.appendChild(el("span", { className: "feedback-title", text: "Your verdict:" }));
    ["editorial", "comment", "other"].forEach(function (label) {
      var button = el("button", { type: "button", className: "secondary small", "data-label": label,
        "aria-pressed": "false", text: label === "other" ? "page chrome" : label });
      button.addEventListener("click", function () {
        var body = { text: block.text, label: label, model_version: modelVersion };
        if (block.scores && typeof block.scores.editorial === "number") {
          body.scores = { editorial: block.scores.editorial, comment: block.scores.comment };
        }
        var moderator = setting("moderator");
        if (moderator) body.moderator = moderator;
        var buttons = row.querySelectorAll("button");
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
        status.textContent = "Saving…";
        status.className = "feedback-status status-busy";
        postJSON("v1/feedback", body).then(function (saved) {
          Array.prototype.forEach.call(buttons, function (b) {
            b.setAttribute("aria-pressed", b === button ? "true" : "false");
          });
          status.textContent = "Saved as " + label + " (#" + saved.id + ")";
          status.className = "feedback-status status-ok";
          row.setAttribute("data-saved", label);
          // Resolved: the block no longer waits for a person.
          var article = row.parentNode, flag = article.querySelector(".decision-review");
          article.classList.remove("is-review");
          if (flag) { flag.className = "decision"; flag.textContent = "resolved: " + label; }
        }).catch(function (error) {
          status.textContent = "Not saved: " + errorText(error);
          status.className = "feedback-status status-error";
          if (error.apiError && /api_key|keys_not_configured/.test(error.apiError.code)) {
            $("moderator-settings").open = true;
          }
        }).then(function () {
          Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        });
      });
      row.appendChild(button);
    });
    row.appendChild(status);
    return row;
  }

  function renderBlock(block, modelVersion) {
    var label = block.label, decision = block.decision;
    var p = block.scores ? block.scores.editorial : NaN;
    var article = el("article", {
      className: "block label-" + label + (decision === "review" ? " is-review" : ""),
      "data-index": String(block.index), "data-label": label, "data-decision": decision,
      "aria-label": "Block " + (block.index + 1) + ": " + label + (decision === "review" ? ", needs review" : "")
    });
    var head = el("div", { className: "block-head" }, [
      el("span", { className: "idx", text: "#" + (block.index + 1) }),
      el("span", { className: "badge label-" + label, text: label }),
      decision === "review"
        ? el("span", { className: "badge decision-review", text: "needs a person",
          title: "The model is unsure about this block, even with the rest of the page: a moderator should decide." })
        : el("span", { className: "decision", text: "decision: " + decision })
    ]);
    var onPage = block.page_scores ? block.page_scores[label] : NaN;
    if (typeof onPage === "number" && label !== "other") {
      /* The decision is the page's: how sure the page is of this block's label. */
      head.appendChild(el("span", { className: "page-score", "data-page-score": String(onPage),
        title: "The block's probability of its label given the whole page; its own scores are in the bar below.",
        text: "page: " + label + " " + fmt(onPage, 2) }));
    }
    if (block.kind && block.kind.label) {
      var q = block.kind.scores ? block.kind.scores[block.kind.label] : NaN;
      head.appendChild(el("span", {
        className: "kind kind-" + block.kind.label, "data-kind": block.kind.label,
        text: block.kind.label + " " + fmt(q, 2)
      }));
    } else if (block.kind && block.kind.scores) {
      /* The model names a kind only where it is reliable on sources it never saw. */
      head.appendChild(el("span", {
        className: "kind kind-unsure", "data-kind": "unsure",
        title: "Sarcastic or opinion: the model is not sure enough to say (P(sarcastic) " +
          fmt(block.kind.scores.sarcastic, 2) + ").",
        text: "kind unsure (sarcastic " + fmt(block.kind.scores.sarcastic, 2) + ")"
      }));
    }
    article.appendChild(head);
    if (block.context) {
      /* The page gave this block another label than its own scores: say why. */
      article.appendChild(el("p", { className: "context", "data-context": block.context,
        text: "Labelled " + label + " by its place on the page: " + block.context + "." }));
    }
    if (typeof p === "number") article.appendChild(probabilityBar(p));
    var terms = block.explanation ? block.explanation.terms : [];
    // The strongest few word cues only: a style cue ("w w w": any three words) spans nearly every word.
    var marked = highlighted(block.text, (terms || []).filter(function (t) { return t.block !== "style"; }).slice(0, 3));
    article.appendChild(el("p", { className: "block-text" }, [marked.node]));
    if (terms && terms.length) {
      var details = el("details", { className: "why" }, [
        el("summary", { text: "Why: the strongest cues" }),
        termList(terms)
      ]);
      article.appendChild(details);
    }
    article.appendChild(correction(block, modelVersion));
    return article;
  }

  function analyse() {
    var text = $("text").value;
    var status = $("analyse-status"), results = $("results"), button = $("analyse");
    if (!text.trim()) {
      setStatus(status, "Paste a comment or a page first.", "error");
      $("text").focus();
      return;
    }
    button.disabled = true;
    results.setAttribute("aria-busy", "true");
    setStatus(status, "Analysing…", "busy");
    var kind = document.querySelector("input[name=input-kind]:checked");
    kind = kind ? kind.value : "auto";
    var isHTML = kind === "html" || (kind === "auto" && /^\s*<(!doctype|html|head|body|div|p|article|section|main|span|h[1-6])[\s>]/i.test(text));
    var request = isHTML ? { html: text, explain: true } : { text: text, explain: true };
    postJSON("v1/segment", request).then(function (data) {
      clear(results);
      var counts = { editorial: 0, comment: 0, other: 0 }, review = 0;
      var list = el("div", { className: "blocks" });
      data.blocks.forEach(function (block) {
        counts[block.label] = (counts[block.label] || 0) + 1;
        if (block.decision === "review") review++;
        list.appendChild(renderBlock(block, data.model && data.model.version));
      });
      results.appendChild(list);
      var n = data.blocks.length;
      setStatus(status, (isHTML ? "HTML page, " : "") + n + (n === 1 ? " block" : " blocks") + ": " + counts.editorial + " editorial, " +
        counts.comment + " comment, " + counts.other + " other; " + review + " to review" +
        (data.comments_start !== null && data.comments_start !== undefined
          ? "; comments start at block " + (data.comments_start + 1) : "") + ".", "ok");
    }).catch(function (error) {
      clear(results);
      setStatus(status, "Could not analyse: " + errorText(error), "error");
    }).then(function () {
      button.disabled = false;
      results.setAttribute("aria-busy", "false");
    });
  }

  // ---- CSV ---------------------------------------------------------------------------------
  /* RFC 4180: fields separated by commas, records by CRLF or LF; a quoted field may hold commas,
     newlines and doubled quotes. Each record remembers the line it starts on, for messages. */
  function parseCSV(source) {
    if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
    var records = [], record = [], field = "", i = 0, n = source.length, line = 1, startLine = 1;
    var quoted = false, fieldStarted = false;
    function endField() { record.push(field); field = ""; fieldStarted = false; }
    function endRecord() {
      endField();
      if (!(record.length === 1 && record[0] === "")) { record.line = startLine; records.push(record); }
      record = [];
    }
    while (i < n) {
      var c = source[i];
      if (quoted) {
        if (c === '"') {
          if (source[i + 1] === '"') { field += '"'; i += 2; continue; }
          quoted = false; i++; continue;
        }
        if (c === "\n") line++;
        field += c; i++; continue;
      }
      if (c === '"' && !fieldStarted) { quoted = true; fieldStarted = true; i++; continue; }
      if (c === ",") { endField(); i++; continue; }
      if (c === "\r" || c === "\n") {
        endRecord();
        if (c === "\r" && source[i + 1] === "\n") i++;
        i++; line++; startLine = line; continue;
      }
      field += c; fieldStarted = true; i++;
    }
    if (quoted) throw new Error("line " + startLine + ": a quoted field is never closed");
    if (field !== "" || record.length) endRecord();
    return records;
  }

  function csvField(value) {
    var s = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function writeCSV(rows) {
    return rows.map(function (row) { return row.map(csvField).join(","); }).join("\r\n") + "\r\n";
  }

  function readCSV(source) {
    var records = parseCSV(source);
    if (!records.length) throw new Error("the file is empty");
    var header = records[0].slice();
    var textColumn = header.findIndex(function (name) { return name.trim().toLowerCase() === "text"; });
    if (textColumn < 0) {
      throw new Error("line 1: the header has no 'text' column (found: " +
        header.map(function (h) { return "'" + h + "'"; }).join(", ") + ")");
    }
    var items = records.slice(1).map(function (record) {
      return { line: record.line, text: record[textColumn], record: record };
    });
    return { format: "csv", header: header, items: items };
  }

  function outputCSV(parsed, results) {
    var header = parsed.header.slice();
    var positions = NEW_COLUMNS.map(function (name) {
      var at = header.indexOf(name);
      if (at < 0) { header.push(name); at = header.length - 1; }
      return at;
    });
    var rows = [header];
    parsed.items.forEach(function (item, k) {
      var row = item.record.slice();
      while (row.length < header.length) row.push("");
      var values = resultColumns(results[k]);
      positions.forEach(function (at, j) { row[at] = values[j]; });
      rows.push(row);
    });
    return writeCSV(rows);
  }

  // ---- JSONL -------------------------------------------------------------------------------
  function readJSONL(source) {
    if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
    var items = [];
    source.split(/\r?\n/).forEach(function (raw, k) {
      if (!raw.trim()) return;
      var value;
      try { value = JSON.parse(raw); } catch (error) {
        throw new Error("line " + (k + 1) + ": not valid JSON (" + error.message + ")");
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new Error("line " + (k + 1) + ": expected a JSON object with a 'text' field");
      }
      items.push({ line: k + 1, text: value.text, record: value });
    });
    if (!items.length) throw new Error("the file is empty");
    return { format: "jsonl", items: items };
  }

  function outputJSONL(parsed, results) {
    return parsed.items.map(function (item, k) {
      var values = resultColumns(results[k]);
      var out = {};
      Object.keys(item.record).forEach(function (key) { out[key] = item.record[key]; });
      out.label = values[0];
      out.p_editorial = results[k].scores.editorial;
      out.decision = values[2];
      out.kind = values[3] || null;
      return JSON.stringify(out);
    }).join("\n") + "\n";
  }

  function resultColumns(result) {
    return [result.label, String(result.scores.editorial), result.decision,
      result.kind && result.kind.label ? result.kind.label : ""];
  }

  // ---- labelling a file --------------------------------------------------------------------
  function checkTexts(items) {
    var bad = [];
    items.forEach(function (item) {
      if (typeof item.text !== "string") {
        bad.push("line " + item.line + ": no text" + (item.text === undefined ? "" : " (not a string)"));
      } else if (!item.text.trim()) {
        bad.push("line " + item.line + ": the text is empty");
      }
    });
    if (bad.length) {
      var shown = bad.slice(0, 10).join("; ");
      throw new Error(bad.length + (bad.length === 1 ? " row has" : " rows have") +
        " no text to label: " + shown + (bad.length > 10 ? "; …" : "") + ". Nothing was labelled.");
    }
  }

  function batches(items) {
    var out = [], current = [], bytes = 0;
    items.forEach(function (item, k) {
      var size = new Blob([JSON.stringify(item.text)]).size + 1;
      if (current.length && (current.length >= BATCH_TEXTS || bytes + size > BATCH_BYTES)) {
        out.push(current); current = []; bytes = 0;
      }
      current.push(k); bytes += size;
    });
    if (current.length) out.push(current);
    return out;
  }

  function labelFile() {
    var input = $("file"), status = $("file-status"), progress = $("file-progress");
    var link = $("download"), button = $("process");
    var file = input.files && input.files[0];
    if (link.href) URL.revokeObjectURL(link.href);
    link.hidden = true; link.removeAttribute("href");
    if (!file) {
      setStatus(status, "Choose a CSV or JSONL file first.", "error");
      input.focus();
      return;
    }
    button.disabled = true;
    setStatus(status, "Reading " + file.name + "…", "busy");
    file.text().then(function (source) {
      var isJSONL = /\.(jsonl|ndjson|json)$/i.test(file.name) ||
        (!/\.csv$/i.test(file.name) && /^\s*\{/.test(source));
      var parsed = isJSONL ? readJSONL(source) : readCSV(source);
      if (!parsed.items.length) throw new Error("the file has a header but no rows");
      checkTexts(parsed.items);
      var groups = batches(parsed.items), results = new Array(parsed.items.length), done = 0;
      progress.hidden = false; progress.max = parsed.items.length; progress.value = 0;
      setStatus(status, "Labelling " + parsed.items.length + " rows…", "busy");
      var chain = Promise.resolve();
      groups.forEach(function (group) {
        chain = chain.then(function () {
          var texts = group.map(function (k) { return parsed.items[k].text; });
          return postJSON("v1/classify", { texts: texts }).catch(function (error) {
            // '...'[3] in a message names a text of this batch: say which line of the file it is.
            var match = /\[(\d+)\]/.exec(error.message);
            if (match && group[+match[1]] !== undefined) {
              error.message = "line " + parsed.items[group[+match[1]]].line + ": " + error.message;
            }
            throw error;
          }).then(function (data) {
            data.results.forEach(function (result, j) { results[group[j]] = result; });
            done += group.length;
            progress.value = done;
            setStatus(status, "Labelled " + done + " of " + parsed.items.length + " rows…", "busy");
          });
        });
      });
      return chain.then(function () {
        var body = parsed.format === "csv" ? outputCSV(parsed, results) : outputJSONL(parsed, results);
        var type = parsed.format === "csv" ? "text/csv;charset=utf-8" : "application/x-ndjson;charset=utf-8";
        var blob = new Blob([body], { type: type });
        var name = file.name.replace(/\.[^.]*$/, "") + "-labelled." + (parsed.format === "csv" ? "csv" : "jsonl");
        link.href = URL.createObjectURL(blob);
        link.download = name;
        link.textContent = "Download " + name;
        link.hidden = false;
        var counts = {};
        results.forEach(function (r) { counts[r.decision] = (counts[r.decision] || 0) + 1; });
        setStatus(status, "Done: " + results.length + " rows labelled (" + Object.keys(counts).map(function (k) {
          return counts[k] + " " + k;
        }).join(", ") + ").", "ok");
        link.focus();
      });
    }).catch(function (error) {
      progress.hidden = true;
      setStatus(status, "Could not label " + file.name + ": " + errorText(error), "error");
    }).then(function () { button.disabled = false; });
  }

  // ---- model card --------------------------------------------------------------------------
  function pairs(rows) {
    var dl = el("dl", { className: "facts" });
    rows.forEach(function (row) {
      dl.appendChild(el("dt", { text: row[0] }));
      dl.appendChild(el("dd", { text: row[1] }));
    });
    return dl;
  }

  function countTable(caption, train, test) {
    var keys = Object.keys(Object.assign({}, train || {}, test || {})).sort();
    var table = el("table", { className: "counts" }, [
      el("caption", { text: caption }),
      el("thead", null, [el("tr", null, [
        el("th", { scope: "col", text: "" }), el("th", { scope: "col", text: "train" }),
        el("th", { scope: "col", text: "held out" })
      ])])
    ]);
    var body = el("tbody");
    keys.forEach(function (key) {
      body.appendChild(el("tr", null, [
        el("th", { scope: "row", text: key }),
        el("td", { text: String((train || {})[key] || 0) }),
        el("td", { text: String((test || {})[key] || 0) })
      ]));
    });
    table.appendChild(body);
    return table;
  }

  function get(object, path) {
    return path.split(".").reduce(function (value, key) {
      return value && typeof value === "object" ? value[key] : undefined;
    }, object);
  }

  function renderCard(card) {
    var node = $("card");
    clear(node);
    node.setAttribute("data-version", card.version || "");
    var band = card.review_band || get(card, "metrics.calibration.review_band.band");
    var counts = get(card, "data.counts") || {};
    node.appendChild(pairs([
      ["Version", card.version || "—"],
      ["Created", card.created || "—"],
      ["Task", card.task || "—"],
      ["Held-out accuracy", fmt(get(card, "metrics.held_out.accuracy"))],
      ["Held-out macro-F1", fmt(get(card, "metrics.held_out.macro_f1"))],
      ["Held-out ROC-AUC", fmt(get(card, "metrics.held_out.roc_auc"))],
      ["Held-out texts", String(get(card, "metrics.held_out.n") || "—")],
      ["Leave-one-source-out macro-F1 (pooled)", fmt(get(card, "metrics.leave_one_source_out.pooled.macro_f1"))],
      ["Review band", band ? "[" + fmt(band[0], 3) + ", " + fmt(band[1], 3) + ")" : "—"],
    ].concat(get(card, "metrics.out_of_source") ? [
      /* Chosen and measured on sources the model never saw: what a new outlet gets. */
      ["Sent to review, unseen sources", pct(get(card, "metrics.out_of_source.held_out_sources.review_share"))],
      ["Decisions outside review right, unseen sources", fmt(get(card, "metrics.out_of_source.held_out_sources.decided_accuracy"))],
      ["Calibration error, unseen sources", fmt(get(card, "metrics.out_of_source.held_out_sources.expected_calibration_error"))]
    ] : [
      ["Review share (held out)", pct(get(card, "metrics.calibration.review_band.review_share"))],
      ["Expected calibration error", fmt(get(card, "metrics.calibration.expected_calibration_error"))]
    ]).concat([
      ["Page segmentation block accuracy", fmt(get(card, "segmentation.segment.block_accuracy"))],
      ["First comment found exactly", pct(get(card, "segmentation.segment.boundary_exact"))]
    ])));
    var train = counts.train || {}, test = counts.test || {};
    var data = el("details", { className: "data" }, [
      el("summary", { text: "Training data by label and source" }),
      countTable("By label", train.by_label, test.by_label),
      countTable("By source", train.by_source, test.by_source)
    ]);
    node.appendChild(data);
    if (card.licence) {
      node.appendChild(el("p", { className: "licence" }, [el("strong", { text: "Licence: " }), card.licence]));
    }
  }

  function loadCard() {
    fetch("v1/model", { headers: headers() }).then(readJSON).then(renderCard)
      .catch(function (error) {
        var node = $("card");
        clear(node);
        node.appendChild(el("p", { className: "status status-error",
          text: "Could not load the model card: " + errorText(error) }));
      });
  }

  // ---- wiring ------------------------------------------------------------------------------
  function init() {
    $("analyse-form").addEventListener("submit", function (event) { event.preventDefault(); analyse(); });
    $("text").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); analyse(); }
    });
    $("clear").addEventListener("click", function () {
      $("text").value = ""; clear($("results")); setStatus($("analyse-status"), ""); $("text").focus();
    });
    $("file-form").addEventListener("submit", function (event) { event.preventDefault(); labelFile(); });
    ["api-key", "moderator"].forEach(function (name) {
      $(name).value = setting(name);
      $(name).addEventListener("input", function () { remember(name, $(name).value); });
    });
    $("api-key").addEventListener("change", loadCard);
    loadCard();
  }

  // Exposed for tests and the console; nothing here touches the page.
  window.CommentClassifierPage = { parseCSV: parseCSV, writeCSV: writeCSV, readJSONL: readJSONL };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
