/* The review queue: the texts the model is unsure about, as cards a moderator resolves one by one
   with the keyboard. Cards come from the pasted page (/v1/segment), a file (a .txt page, or CSV /
   JSONL rows through /v1/classify) or the service's review log (/v1/review-log, when the operator
   keeps one). Every verdict goes to /v1/feedback; a resolved card leaves the queue. Like app.js,
   every piece of text is put in the page as a text node, never as HTML. */
"use strict";

(function () {
  var BATCH_TEXTS = 200;           // rows per /v1/classify call (with explanations)
  var BATCH_BYTES = 400000;        // well under the service's 1,000,000-byte body limit
  var KEYS = {
    e: { label: "editorial", name: "Editorial" },
    c: { label: "comment", name: "Comment" },
    s: { label: "comment", kind: "sarcastic", name: "Sarcastic comment" },
    o: { label: "comment", kind: "opinion", name: "Opinion comment" },
    p: { label: "other", name: "Page chrome" }
  };
  var ORDER = ["e", "c", "s", "o", "p"];

  var cards = [];                  // the unresolved items, in queue order
  var corrections = "unknown";     // on | need-key | off | unavailable

  var $ = window.deskDOM.$, el = window.deskDOM.el;

  // ---- plain words ---------------------------------------------------------------------------
  /* The model's terms as a moderator would say them: masks and style shapes named, the rest quoted. */
  var TOKEN_WORDS = {
    "N": "a name", "0": "a number", "ACR": "an abbreviation in capitals", "CAPS": "a shouted word in capitals",
    "?": "a question mark", "!": "an exclamation mark", ".": "a full stop", ",": "a comma", "\"": "a quotation mark",
    "'": "an apostrophe", ":": "a colon", ";": "a semicolon", "-": "a dash", "(": "a bracket", ")": "a bracket",
    "...": "an ellipsis", "…": "an ellipsis", "&": "an ampersand", "$": "a dollar sign", "%": "a per cent sign"
  };
  var COUNTS = ["", "", "two", "three", "four", "five"];

  function cueWords(term) {
    var t = term.term;
    var length = /^<len (\w+)>$/.exec(t);
    if (length) return length[1] === "more" ? "its length (over 120 words)" : "its length (" + length[1] + " words or fewer)";
    if (t === "<open end>") return "no full stop at the end";
    if (term.block === "chars") return "the letters “" + t.trim() + "”";
    var parts = [], run = 0;
    function flush() {
      if (run === 1) parts.push("any word");
      else if (run > 1) parts.push((COUNTS[run] || String(run)) + " words in a row");
      run = 0;
    }
    t.split(" ").forEach(function (token) {
      if (term.block === "style" && token === "w") { run++; return; }
      flush();
      parts.push(TOKEN_WORDS[token] || "“" + token + "”");
    });
    flush();
    return parts.join(" then ");
  }

  /* The few strongest cues, the same words merged (a name counts in two feature blocks). */
  function strongestCues(explanation, how) {
    var merged = {}, order = [];
    ((explanation && explanation.terms) || []).forEach(function (term) {
      var words = cueWords(term);
      if (!(words in merged)) { merged[words] = 0; order.push(words); }
      merged[words] += term.weight;
    });
    return order.map(function (words) { return { words: words, weight: merged[words] }; })
      .sort(function (a, b) { return Math.abs(b.weight) - Math.abs(a.weight); })
      .slice(0, how || 3);
  }

  function inTen(q) {
    var n = Math.round(q * 10);
    return n >= 10 ? "nearly all" : n <= 0 ? "hardly any" : "about " + n + " in 10";
  }

  /* The calibrated P(editorial) as a sentence: "the model is unsure: about 6 in 10 like this are comments". */
  function scoreWords(item) {
    var p = item.scores && item.scores.editorial;
    if (typeof p !== "number") return "";
    var side = p >= 0.5 ? "editorial" : "comments", q = p >= 0.5 ? p : 1 - p;
    var words = inTen(q) + " texts like this are " + side;
    if (item.label === "other") return "Its place on the page makes it look like page chrome (a menu, a byline, a button). From its words alone, " + words + ".";
    var sentence = (item.decision === "review" ? "The model is unsure: " : "The model is fairly sure: ") + words + ".";
    var ownSide = p >= 0.5 ? "editorial" : "comment";
    if (item.label !== ownSide) sentence += " Its place on the page made the model call it " + item.label + ".";
    /* On a page the decision is the page's: say how sure the page is of the label. */
    var onPage = item.pageScores && item.pageScores[item.label];
    if (typeof onPage === "number") {
      sentence += " With the rest of the page: " + inTen(onPage) + " blocks placed like this are " +
        (item.label === "comment" ? "comments" : item.label) + ".";
    }
    return sentence;
  }

  window.CommentClassifierWords = { cue: cueWords, cues: strongestCues, score: scoreWords };

  // ---- talking to the service ------------------------------------------------------------------
  function setting(name) {
    try { return (window.sessionStorage.getItem("comment-classifier." + name) || "").trim(); }
    catch (ignored) { return ""; }
  }

  function headers(extra) {
    var all = Object.assign({ "Accept": "application/json" }, extra || {});
    var key = setting("api-key");
    if (key) all.Authorization = "Bearer " + key;
    return all;
  }

  function call(method, path, body) {
    var options = { method: method, headers: headers(body ? { "Content-Type": "application/json" } : null) };
    if (body) options.body = JSON.stringify(body);
    return fetch(path, options).then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (ignored) { data = null; }
        if (!response.ok) {
          var error = new Error(data && data.error ? data.error.message : "the service answered " + response.status);
          error.code = data && data.error ? data.error.code : "http_" + response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function plainError(error) {
    if (error instanceof TypeError) return "the service cannot be reached; check your connection and try again.";
    if (error.code === "missing_api_key") return "enter your moderator key under “Moderator key and name” first.";
    if (error.code === "invalid_api_key") return "your moderator key is not accepted; check it under “Moderator key and name”.";
    if (error.code === "keys_not_configured") return "corrections are off on this server.";
    if (error.code === "feedback_unavailable") return "the server cannot store corrections right now; try again later.";
    if (error.code === "overloaded") return "the server is busy; try again in a moment.";
    return error.message;
  }

  /* Whether this server takes corrections, asked without storing anything: GET /v1/feedback?limit=1. */
  function checkCorrections() {
    return call("GET", "v1/feedback?limit=1").then(function () { return "on"; }, function (error) {
      if (error.code === "keys_not_configured") return "off";
      if (error.code === "missing_api_key" || error.code === "invalid_api_key") return "need-key";
      return "unavailable";
    }).then(function (state) {
      corrections = state;
      document.documentElement.setAttribute("data-corrections", state);
      var note = $("queue-corrections");
      note.textContent = {
        on: "",
        "need-key": "To save your verdicts, enter your moderator key under “Moderator key and name” above.",
        off: "Corrections are off on this server: it has no moderator keys, so verdicts cannot be saved. " +
          "You can still read the queue; whoever runs the service can turn corrections on.",
        unavailable: "The server cannot store corrections right now; verdicts will fail until it can."
      }[state];
      note.hidden = state === "on";
      cards.forEach(function (item) { if (item.node) renderActions(item); });
    });
  }

  // ---- cards -----------------------------------------------------------------------------------
  function context(label, text) {
    if (!text) return null;
    return el("p", { className: "qctx" }, [el("span", { className: "qctx-label", text: label + " " }), text]);
  }

  function renderActions(item) {
    var box = item.node.querySelector(".qactions");
    while (box.firstChild) box.removeChild(box.firstChild);
    if (corrections === "off") {
      box.appendChild(el("p", { className: "qoff", text: "Corrections are off on this server." }));
      return;
    }
    ORDER.forEach(function (key) {
      var action = KEYS[key];
      var button = el("button", {
        type: "button", className: "secondary small qaction", "data-key": key, "data-label": action.label,
        "aria-keyshortcuts": key.toUpperCase()
      }, [el("kbd", { text: key.toUpperCase() }), " " + action.name]);
      if (action.kind) button.setAttribute("data-kind", action.kind);
      button.addEventListener("click", function () { resolve(item, key); });
      box.appendChild(button);
    });
  }

  function renderCard(item) {
    var review = item.decision === "review";
    var heading = el("h3", { className: "qwhere", id: "qcard-" + item.key, text: item.where });
    var head = el("div", { className: "qhead" }, [
      heading,
      el("span", { className: "badge label-" + item.label, text: "model's guess: " + (item.label === "other" ? "page chrome" : item.label) }),
      review ? el("span", { className: "badge decision-review", text: "needs a person",
        title: "The model is unsure (for a text, its score falls in the review band; for a block of a page, the page is not sure enough of its label): a moderator should decide." }) : null
    ]);
    var cues = strongestCues(item.explanation);
    var why = cues.length ? el("p", { className: "qwhy" }, [el("span", { className: "qwhy-label", text: "Why: " })].concat(
      cues.map(function (cue, i) {
        return el("span", { className: "cue " + (cue.weight >= 0 ? "cue-editorial" : "cue-comment") },
          [(i ? "; " : "") + cue.words + " ", el("span", { className: "cue-side",
            text: "(points to " + (cue.weight >= 0 ? "editorial" : "comment") + ")" })]);
      }))) : null;
    var node = el("article", {
      className: "qcard label-" + item.label + (review ? " is-review" : ""), tabindex: "0",
      "aria-labelledby": heading.id, "data-label": item.label, "data-decision": item.decision, "data-key": item.key
    }, [
      head,
      context("Before:", item.before),
      el("blockquote", { className: "qtext" }, [item.text]),
      context("After:", item.after),
      el("p", { className: "qscore", text: scoreWords(item) }),
      why,
      el("div", { className: "qactions", role: "group", "aria-label": "Your verdict on " + item.where }),
      el("p", { className: "qstatus", role: "status" })
    ]);
    item.node = node;
    renderActions(item);
    return node;
  }

  function visible(item) {
    if ($("queue-only-review").checked && item.decision !== "review") return false;
    var label = $("queue-label").value;
    return !label || item.label === label;
  }

  function applyFilters() {
    var shown = 0;
    cards.forEach(function (item) {
      item.node.hidden = !visible(item);
      if (!item.node.hidden) shown++;
    });
    $("queue-cards").classList.toggle("compact", $("queue-compact").checked);
    var hidden = cards.length - shown;
    $("queue-count").textContent = cards.length
      ? shown + (shown === 1 ? " card" : " cards") + " to resolve" + (hidden ? " (" + hidden + " more hidden by the filters)" : "") + "."
      : "";
    return shown;
  }

  function show(items, description) {
    var list = $("queue-cards");
    while (list.firstChild) list.removeChild(list.firstChild);
    cards = items;
    items.forEach(function (item) { list.appendChild(renderCard(item)); });
    var shown = applyFilters();
    setStatus(description + (shown ? "" : cards.length
      ? " None is left under these filters: untick “Only those to review” to see the rest."
      : " Nothing to review."), "ok");
    var first = firstVisible(0, 1);
    if (first) first.node.focus();
  }

  function firstVisible(from, step) {
    for (var i = from; i >= 0 && i < cards.length; i += step) {
      if (!cards[i].node.hidden) return cards[i];
    }
    return null;
  }

  function setStatus(message, kind) {
    var status = $("queue-status");
    status.textContent = message;
    status.className = "status" + (kind ? " status-" + kind : "");
  }

  // ---- verdicts --------------------------------------------------------------------------------
  function resolve(item, key) {
    var action = KEYS[key], status = item.node.querySelector(".qstatus");
    if (corrections === "off") {
      status.textContent = "Corrections are off on this server.";
      return;
    }
    if (item.busy) return;
    item.busy = true;
    var body = { text: item.text, label: action.label };
    if (action.kind) body.kind = action.kind;
    if (item.modelVersion) body.model_version = item.modelVersion;
    if (item.scores && typeof item.scores.editorial === "number") {
      body.scores = { editorial: item.scores.editorial, comment: item.scores.comment };
    }
    var moderator = setting("moderator");
    if (moderator) body.moderator = moderator;
    status.className = "qstatus status-busy";
    status.textContent = "Saving…";
    call("POST", "v1/feedback", body).then(function (saved) {
      var removal = item.logId ? call("DELETE", "v1/review-log/" + item.logId).catch(function () { return null; }) : null;
      var at = cards.indexOf(item);
      cards.splice(at, 1);
      var next = firstVisible(at, 1) || firstVisible(at - 1, -1);
      item.node.parentNode.removeChild(item.node);
      var left = applyFilters();
      setStatus("Saved “" + item.where + "” as " + action.name.toLowerCase() + " (#" + saved.id + "). " +
        (left ? left + " left." : "The queue is done."), "ok");
      if (next) next.node.focus(); else $("queue-status").focus();
      return removal;
    }).catch(function (error) {
      item.busy = false;
      status.className = "qstatus status-error";
      status.textContent = "Not saved: " + plainError(error);
      if (error.code === "missing_api_key" || error.code === "invalid_api_key") {
        $("moderator-settings").open = true;
      }
    });
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var node = event.target.closest && event.target.closest(".qcard");
    if (!node) return;
    var item = cards.filter(function (c) { return c.node === node; })[0];
    if (!item) return;
    var key = event.key.toLowerCase(), at = cards.indexOf(item), target = null;
    if (KEYS[key]) {
      event.preventDefault();
      resolve(item, key);
    } else if (key === "j" || event.key === "ArrowDown") {
      target = firstVisible(at + 1, 1);
    } else if (key === "k" || event.key === "ArrowUp") {
      target = firstVisible(at - 1, -1);
    } else {
      return;
    }
    if (target || key === "j" || key === "k" || event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (target) target.node.focus();
    }
  }

  // ---- sources ---------------------------------------------------------------------------------
  function pageItems(blocks, version, label) {
    return blocks.map(function (block, i) {
      return {
        key: label + "-" + i, text: block.text, label: block.label, decision: block.decision, scores: block.scores,
        pageScores: block.page_scores,
        kind: block.kind, explanation: block.explanation, modelVersion: version,
        before: i > 0 ? blocks[i - 1].text : null, after: i + 1 < blocks.length ? blocks[i + 1].text : null,
        where: "Block " + (i + 1) + " of " + blocks.length
      };
    });
  }

  function queuePage(text, what) {
    setStatus("Analysing " + what + "…", "busy");
    return call("POST", "v1/segment", { text: text, explain: true }).then(function (data) {
      show(pageItems(data.blocks, data.model && data.model.version, "b"),
        what.charAt(0).toUpperCase() + what.slice(1) + ": " + data.blocks.length + " blocks.");
    });
  }

  function batches(texts) {
    var out = [], current = [], bytes = 0;
    texts.forEach(function (text, k) {
      var size = new Blob([JSON.stringify(text)]).size + 1;
      if (current.length && (current.length >= BATCH_TEXTS || bytes + size > BATCH_BYTES)) {
        out.push(current); current = []; bytes = 0;
      }
      current.push(k); bytes += size;
    });
    if (current.length) out.push(current);
    return out;
  }

  /* Classify texts with explanations; ``band`` [0, 0] when only the cues are wanted, so that
     nothing is decided "review" (and so not logged again by a server that keeps a review log). */
  function classifyAll(texts, band) {
    var results = new Array(texts.length), version = null, chain = Promise.resolve();
    batches(texts).forEach(function (group) {
      chain = chain.then(function () {
        var body = { texts: group.map(function (k) { return texts[k]; }), explain: true };
        if (band) body.review_band = band;
        return call("POST", "v1/classify", body).then(function (data) {
          version = data.model && data.model.version;
          data.results.forEach(function (result, j) { results[group[j]] = result; });
          setStatus("Scored " + results.filter(Boolean).length + " of " + texts.length + "…", "busy");
        });
      });
    });
    return chain.then(function () { return { results: results, version: version }; });
  }

  function rowsOf(name, source) {
    var page = window.CommentClassifierPage;
    if (/\.(jsonl|ndjson|json)$/i.test(name)) {
      return page.readJSONL(source).items.map(function (item) { return { line: item.line, text: item.text }; });
    }
    var records = page.parseCSV(source);
    if (!records.length) throw new Error("the file is empty");
    var column = records[0].findIndex(function (h) { return h.trim().toLowerCase() === "text"; });
    if (column < 0) throw new Error("line 1: the header has no 'text' column");
    return records.slice(1).map(function (record) { return { line: record.line, text: record[column] }; });
  }

  function queueFile(file) {
    setStatus("Reading " + file.name + "…", "busy");
    return file.text().then(function (source) {
      if (/\.txt$/i.test(file.name) || file.type === "text/plain") return queuePage(source, file.name);
      var rows = rowsOf(file.name, source).filter(function (row) { return typeof row.text === "string" && row.text.trim(); });
      if (!rows.length) throw new Error("no row has a text");
      var texts = rows.map(function (row) { return row.text; });
      return classifyAll(texts, null).then(function (scored) {
        show(rows.map(function (row, i) {
          var r = scored.results[i];
          return {
            key: "r-" + i, text: row.text, label: r.label, decision: r.decision, scores: r.scores, kind: r.kind,
            explanation: r.explanation, modelVersion: scored.version,
            before: i > 0 ? rows[i - 1].text : null, after: i + 1 < rows.length ? rows[i + 1].text : null,
            where: "Row " + (i + 1) + " of " + rows.length + " (line " + row.line + ")"
          };
        }), file.name + ": " + rows.length + " rows.");
      });
    });
  }

  function pullLog() {
    setStatus("Asking the service for the texts it sent to review…", "busy");
    var items = [];
    function page(after) {
      return call("GET", "v1/review-log?limit=1000&after=" + after).then(function (data) {
        items = items.concat(data.items);
        if (data.next_after !== null && items.length < 5000) return page(data.next_after);
        return null;
      });
    }
    return page(0).then(function () {
      if (!items.length) { show([], "The service has sent nothing to review since the log was last emptied."); return null; }
      return classifyAll(items.map(function (item) { return item.text; }), [0, 0]).then(function (scored) {
        show(items.map(function (entry, i) {
          var when = entry.created ? entry.created.replace("T", " ").slice(0, 16) + " UTC" : "";
          return {
            key: "l-" + entry.id, logId: entry.id, text: entry.text, label: entry.label, decision: entry.decision,
            pageScores: entry.page_scores || null,
            scores: entry.scores, kind: entry.kind, explanation: scored.results[i].explanation,
            modelVersion: entry.model && entry.model.version,
            before: entry.context && entry.context.before, after: entry.context && entry.context.after,
            where: (entry.index !== null && entry.index !== undefined ? "Page block " + (entry.index + 1) : "Text") +
              ", sent to review " + when
          };
        }), "The service's review log: " + items.length + (items.length === 1 ? " text." : " texts."));
      });
    }).catch(function (error) {
      if (error.code === "review_log_off") {
        throw new Error("this server keeps no review log (the operator can turn it on with REVIEW_LOG_SIZE).");
      }
      throw error;
    });
  }

  function guarded(run) {
    return function () {
      var promise;
      try { promise = run.apply(null, arguments); } catch (error) { promise = Promise.reject(error); }
      if (!promise) return;
      promise.catch(function (error) { setStatus("Could not fill the queue: " + plainError(error), "error"); });
    };
  }

  function init() {
    if (!$("queue-section")) return;
    $("queue-page").addEventListener("click", guarded(function () {
      var text = $("text").value;
      if (!text.trim()) { setStatus("Paste a page in the text box above first.", "error"); $("text").focus(); return null; }
      return queuePage(text, "the pasted page");
    }));
    $("queue-file").addEventListener("change", guarded(function () {
      var file = $("queue-file").files[0];
      return file ? queueFile(file) : null;
    }));
    $("queue-pull").addEventListener("click", guarded(pullLog));
    ["queue-only-review", "queue-label", "queue-compact"].forEach(function (id) {
      $(id).addEventListener("change", applyFilters);
    });
    $("queue-cards").addEventListener("keydown", onKey);
    // A clamped block of the page view opens on a click (queue.css shows two lines of a sure block).
    $("results").addEventListener("click", function (event) {
      var text = event.target.closest && event.target.closest(".block-text");
      if (text) text.parentNode.classList.toggle("open");
    });
    $("api-key").addEventListener("change", checkCorrections);
    checkCorrections();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
