/* The entry grid: spreadsheet-like movement, block paste, saving and submitting in one request.
 *
 * The page renders every cell as an <input> inside a td.cell (td.blank where the indicator is not
 * entered at that unit); each input carries its indicator, unit, period and the version it was
 * read with. Messages come translated from the page (#grid-text), never from this file.
 */
(function () {
  "use strict";

  const table = document.getElementById("entry-grid");
  if (!table) {
    return;
  }
  const text = JSON.parse(document.getElementById("grid-text").textContent);
  const csrfToken = document.querySelector(".grid-toolbar input[name=csrfmiddlewaretoken]").value;
  const saveButton = document.getElementById("grid-save");
  const submitButton = document.getElementById("grid-submit");
  const statusLine = document.getElementById("grid-status");
  const messageBox = document.getElementById("grid-messages");
  const EDITABLE = new Set(["", "draft", "returned"]);

  // The grid as a matrix of positions: an input, or null where a cell is blank.
  const matrix = Array.from(table.tBodies[0].rows).map(function (row) {
    return Array.from(row.cells)
      .filter(function (td) {
        return td.classList.contains("cell") || td.classList.contains("blank");
      })
      .map(function (td) {
        return td.querySelector("input");
      });
  });
  const position = new Map();
  const byKey = new Map();
  matrix.forEach(function (row, r) {
    row.forEach(function (input, c) {
      if (input) {
        position.set(input, [r, c]);
        byKey.set(keyOf(input.dataset.indicator, input.dataset.unit, input.dataset.period), input);
        input.dataset.original = input.value;
      }
    });
  });

  function keyOf(indicator, unit, period) {
    return indicator + "|" + unit + "|" + period;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_match, name) {
      return String(values[name]);
    });
  }

  function counted(name, n) {
    return format(text[n === 1 ? name + "_one" : name + "_other"], { n: n });
  }

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = kind || "";
  }

  // ----- moving around ---------------------------------------------------------------------

  function at(r, c) {
    return matrix[r] ? matrix[r][c] || null : null;
  }

  function step(input, dr, dc) {
    let [r, c] = position.get(input);
    for (;;) {
      r += dr;
      c += dc;
      if (r < 0 || r >= matrix.length || c < 0 || c >= matrix[r].length) {
        return null;
      }
      if (at(r, c)) {
        return at(r, c);
      }
    }
  }

  // Tab walks row by row, as in a spreadsheet; it leaves the grid past its last cell.
  function walk(input, forward) {
    let [r, c] = position.get(input);
    for (;;) {
      c += forward ? 1 : -1;
      if (c >= matrix[r].length) {
        r += 1;
        c = 0;
      } else if (c < 0) {
        r -= 1;
        c = r >= 0 ? matrix[r].length - 1 : 0;
      }
      if (r < 0 || r >= matrix.length) {
        return null;
      }
      if (at(r, c)) {
        return at(r, c);
      }
    }
  }

  function go(target) {
    if (target) {
      target.focus();
      return true;
    }
    return false;
  }

  function wholeSelected(input) {
    return input.selectionStart === 0 && input.selectionEnd === input.value.length;
  }

  function caretAtStart(input) {
    return wholeSelected(input) || (input.selectionStart === 0 && input.selectionEnd === 0);
  }

  function caretAtEnd(input) {
    const end = input.value.length;
    return wholeSelected(input) || (input.selectionStart === end && input.selectionEnd === end);
  }

  table.addEventListener("keydown", function (event) {
    const input = event.target;
    if (!position.has(input) || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    let moved = false;
    switch (event.key) {
      case "ArrowUp":
        moved = go(step(input, -1, 0)) || true;
        break;
      case "ArrowDown":
        moved = go(step(input, 1, 0)) || true;
        break;
      case "ArrowLeft":
        moved = caretAtStart(input) && (go(step(input, 0, -1)) || true);
        break;
      case "ArrowRight":
        moved = caretAtEnd(input) && (go(step(input, 0, 1)) || true);
        break;
      case "Enter":
        moved = go(step(input, event.shiftKey ? -1 : 1, 0)) || true;
        break;
      case "Tab":
        moved = go(walk(input, !event.shiftKey));
        break;
      case "Escape":
        input.value = input.dataset.original;
        refresh(input);
        input.select();
        moved = true;
        break;
    }
    if (moved) {
      event.preventDefault();
    }
  });

  table.addEventListener("focusin", function (event) {
    if (position.has(event.target)) {
      event.target.select();
    }
  });

  // ----- editing -----------------------------------------------------------------------------

  function cellOf(input) {
    return input.closest("td");
  }

  function isDirty(input) {
    const value = input.value.trim();
    return value !== "" && value !== input.dataset.original;
  }

  function dirtyInputs() {
    return Array.from(position.keys()).filter(function (input) {
      return !input.readOnly && isDirty(input);
    });
  }

  function refresh(input) {
    const td = cellOf(input);
    td.classList.toggle("dirty", isDirty(input));
    clearError(input);
    const count = dirtyInputs().length;
    saveButton.disabled = count === 0;
    saveButton.textContent = count ? text.save + " (" + count + ")" : text.save;
  }

  table.addEventListener("input", function (event) {
    if (position.has(event.target)) {
      refresh(event.target);
    }
  });

  // An emptied cell changes nothing on the server, so it shows the stored value again.
  table.addEventListener("change", function (event) {
    const input = event.target;
    if (position.has(input) && input.value.trim() === "" && input.dataset.original !== "") {
      input.value = input.dataset.original;
      refresh(input);
    }
  });

  table.addEventListener("paste", function (event) {
    const input = event.target;
    if (!position.has(input)) {
      return;
    }
    const data = (event.clipboardData || window.clipboardData).getData("text");
    const block = data.replace(/\r\n?/g, "\n").replace(/\n+$/, "");
    if (block.indexOf("\t") < 0 && block.indexOf("\n") < 0) {
      return; // one value: the input takes it as typed text
    }
    event.preventDefault();
    const [r0, c0] = position.get(input);
    let skipped = 0;
    block.split("\n").forEach(function (line, i) {
      line.split("\t").forEach(function (raw, j) {
        const value = raw.trim();
        const target = at(r0 + i, c0 + j);
        if (target && !target.readOnly) {
          target.value = value;
          refresh(target);
        } else if (value !== "") {
          skipped += 1;
          if (target) {
            showError(target, text.paste_skipped_cell);
          }
        }
      });
    });
    input.select();
    say(skipped ? counted("paste_skipped", skipped) : "", skipped ? "warning" : "");
  });

  // ----- errors and stored states --------------------------------------------------------------

  function showError(input, message) {
    const td = cellOf(input);
    td.classList.add("has-error");
    td.querySelector(".cell-msg").textContent = message;
    input.setAttribute("aria-invalid", "true");
  }

  function clearError(input) {
    const td = cellOf(input);
    if (td.classList.contains("has-error")) {
      td.classList.remove("has-error");
      td.querySelector(".cell-msg").textContent = "";
      input.removeAttribute("aria-invalid");
    }
  }

  function applyState(state) {
    const input = byKey.get(keyOf(state.indicator, state.org_unit, state.period));
    if (!input) {
      return null;
    }
    const td = cellOf(input);
    input.value = state.value;
    input.dataset.original = state.value;
    input.dataset.version = state.version;
    input.dataset.status = state.status;
    input.readOnly = !state.editable;
    td.className = td.className.replace(/\bstatus-\w+/g, "").replace(/\breadonly\b/, "").trim();
    td.classList.add("status-" + state.status);
    if (!state.editable) {
      td.classList.add("readonly");
    }
    td.title = state.title;
    refresh(input);
    return input;
  }

  function listMessages(errors) {
    const list = messageBox.querySelector("ul");
    list.textContent = "";
    errors.forEach(function (error) {
      const input = byKey.get(keyOf(error.indicator, error.org_unit, error.period));
      const item = document.createElement("li");
      const label = input ? input.getAttribute("aria-label") : error.period;
      if (input) {
        const link = document.createElement("a");
        link.href = "#";
        link.textContent = label;
        link.addEventListener("click", function (event) {
          event.preventDefault();
          input.focus();
        });
        item.appendChild(link);
      } else {
        item.appendChild(document.createTextNode(label));
      }
      item.appendChild(document.createTextNode(": " + error.message));
      list.appendChild(item);
    });
    messageBox.hidden = errors.length === 0;
  }

  function showRefusal(errors, refusedMessage) {
    let conflicts = 0;
    errors.forEach(function (error) {
      let input = byKey.get(keyOf(error.indicator, error.org_unit, error.period));
      if (error.current) {
        input = applyState(error.current) || input;
        conflicts += 1;
      }
      if (input) {
        showError(input, error.message);
      }
    });
    listMessages(errors);
    say(conflicts ? text.conflict : refusedMessage, "error");
  }

  // ----- talking to the server ---------------------------------------------------------------

  function send(url, cells) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ plan: table.dataset.plan, cells: cells }),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          return { ok: response.ok, body: body };
        });
    });
  }

  function describe(input, withValue) {
    const cell = {
      indicator: Number(input.dataset.indicator),
      org_unit: Number(input.dataset.unit),
      period: input.dataset.period,
      version: input.dataset.version ? Number(input.dataset.version) : null,
    };
    if (withValue) {
      cell.value = input.value.trim();
    }
    return cell;
  }

  let busy = false;

  function run(url, inputs, withValue, busyMessage, refusedMessage, doneName) {
    busy = true;
    saveButton.disabled = true;
    submitButton.disabled = true;
    say(busyMessage);
    return send(url, inputs.map(function (input) {
      return describe(input, withValue);
    }))
      .then(function (result) {
        if (result.ok) {
          (result.body.cells || []).forEach(applyState);
          listMessages([]);
          say(counted(doneName, (result.body.cells || []).length), "ok");
          return true;
        }
        if (result.body.errors) {
          showRefusal(result.body.errors, refusedMessage);
        } else {
          say(result.body.detail || refusedMessage, "error");
        }
        return false;
      })
      .catch(function () {
        say(text.network, "error");
        return false;
      })
      .finally(function () {
        busy = false;
        submitButton.disabled = false;
        saveButton.disabled = dirtyInputs().length === 0;
      });
  }

  function save() {
    if (busy) {
      return Promise.resolve(false);
    }
    const inputs = dirtyInputs();
    if (!inputs.length) {
      say(text.nothing_to_save);
      return Promise.resolve(true);
    }
    return run(table.dataset.saveUrl, inputs, true, text.saving, text.refused, "saved");
  }

  function submit() {
    if (busy) {
      return;
    }
    save().then(function (saved) {
      if (!saved) {
        return;
      }
      const drafts = Array.from(position.keys()).filter(function (input) {
        return !input.readOnly && input.dataset.version && EDITABLE.has(input.dataset.status) && input.value !== "";
      });
      if (!drafts.length) {
        say(text.nothing_to_submit);
        return;
      }
      if (!window.confirm(format(text.confirm_submit, { n: drafts.length }))) {
        return;
      }
      run(table.dataset.submitUrl, drafts, false, text.submitting, text.refused_submit, "submitted");
    });
  }

  saveButton.addEventListener("click", save);
  submitButton.addEventListener("click", submit);

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
      event.preventDefault();
      save();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirtyInputs().length) {
      event.preventDefault();
      event.returnValue = text.unsaved;
    }
  });
})();
