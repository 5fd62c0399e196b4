// The Jerry sandbox page: a small Slack client for the local Slack (bot/sandbox/page.py).
// Plain JavaScript, no build step and nothing fetched from the internet.
"use strict";

const ui = {
  me: null,          // who the visitor is (a demo person's id)
  channel: null,     // a channel id, or "home" for Jerry's Home tab
  thread: null,      // the ts of the open thread
  state: null,       // the last state the server gave
  drawn: "",         // what was drawn last (version + selection): redraw only on change
  modalHash: null,   // the modal on screen: kept while Jerry does not change it
};

const EMOJI = {
  "ticket": "🎫", "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "eyes": "👀",
  "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️", "rocket": "🚀",
  "tada": "🎉", "bulb": "💡", "memo": "📝", "pushpin": "📌", "bell": "🔔", "hourglass": "⌛",
  "hourglass_flowing_sand": "⏳", "speech_balloon": "💬", "question": "❓", "exclamation": "❗",
  "fire": "🔥", "bug": "🐛", "sparkles": "✨", "star": "⭐", "chart_with_upwards_trend": "📈",
  "chart_with_downwards_trend": "📉", "bar_chart": "📊", "calendar": "📆", "link": "🔗",
  "lock": "🔒", "mag": "🔍", "inbox_tray": "📥", "outbox_tray": "📤", "package": "📦", "ship": "🚢",
  "wave": "👋", "raised_hands": "🙌", "pray": "🙏", "slightly_smiling_face": "🙂",
  "neutral_face": "😐", "disappointed": "😞", "smile": "😄", "confused": "😕",
  "thinking_face": "🤔", "heart": "❤️", "arrow_right": "➡️", "arrow_up": "⬆️", "arrow_down": "⬇️",
  "red_circle": "🔴", "large_green_circle": "🟢", "large_yellow_circle": "🟡", "white_circle": "⚪",
  "large_orange_circle": "🟠", "large_blue_circle": "🔵", "clipboard": "📋", "gear": "⚙️",
  "busts_in_silhouette": "👥", "bust_in_silhouette": "👤", "speaking_head_in_silhouette": "🗣️",
  "handshake": "🤝", "moneybag": "💰", "dollar": "💵", "email": "📧", "envelope": "✉️",
  "telescope": "🔭", "construction": "🚧", "hammer_and_wrench": "🛠️", "label": "🏷️",
  "bookmark": "🔖", "point_right": "👉", "repeat": "🔁", "recycle": "♻️", "zzz": "💤",
  "alarm_clock": "⏰", "stopwatch": "⏱️", "calendar_spiral": "🗓️", "new": "🆕", "sos": "🆘",
  "flag-fr": "🇫🇷", "flag-gb": "🇬🇧", "mega": "📣", "loudspeaker": "📢", "trophy": "🏆",
  "muscle": "💪", "rotating_light": "🚨", "information_source": "ℹ️", "no_entry": "⛔",
  "speech_left": "🗨️", "mailbox_with_mail": "📬", "busts": "👥", "clock3": "🕒",
  "spiral_note_pad": "🗒️", "page_facing_up": "📄", "books": "📚", "heavy_plus_sign": "➕",
  "arrows_counterclockwise": "🔄", "white_circle_small": "◦", "small_blue_diamond": "🔹",
  "small_orange_diamond": "🔸", "thumbsup_all": "👍", "ok_hand": "👌", "clap": "👏",
  "crossed_fingers": "🤞", "dart": "🎯", "scales": "⚖️", "shield": "🛡️", "key": "🔑",
};

// --- small helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

// The page's words in the person's language (sent by the server with the state).
function T(key, params) {
  let text = (ui.state && ui.state.text && ui.state.text[key]) || key;
  for (const [name, value] of Object.entries(params || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function emojiOf(name) {
  return EMOJI[name] || `:${name}:`;
}

function person(id) {
  if (ui.state && id === ui.state.bot.id) return ui.state.bot.name;
  const found = ((ui.state && ui.state.people) || []).find((p) => p.id === id);
  return found ? found.real_name : id;
}

function channelName(id) {
  const found = ((ui.state && ui.state.channels) || []).find((c) => c.id === id);
  return found ? found.name : id;
}

// The sandbox clock, in the person's language and timezone.
function clockLabel(iso) {
  const me = ui.state.people.find((p) => p.id === ui.me);
  const options = {weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"};
  if (me && me.tz) options.timeZone = me.tz;
  return new Date(iso).toLocaleString(ui.state.lang, options);
}

// A message's time as Slack shows it: in the person's language and timezone.
function timeOf(ts) {
  const when = new Date(parseFloat(ts) * 1000);
  const me = ((ui.state && ui.state.people) || []).find((p) => p.id === ui.me);
  const options = {weekday: "short", hour: "2-digit", minute: "2-digit"};
  if (me && me.tz) options.timeZone = me.tz;
  return when.toLocaleString(ui.state ? ui.state.lang : undefined, options);
}

// --- mrkdwn ----------------------------------------------------------------------------------

// Slack's text arrives with &, < and > escaped; <…> are links, mentions and dates.
function inlineMrkdwn(text) {
  const tokens = [];
  const keep = (html) => `\u0000${tokens.push(html) - 1}\u0000`;
  let out = text.replace(/```([\s\S]*?)```/g, (_, code) => keep(`<pre>${escapeHtml(unescapeSlack(code))}</pre>`));
  out = out.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
  out = out.replace(/<([^<>\n]+)>/g, (_, inner) => keep(special(inner)));
  out = escapeHtml(unescapeSlack(out));
  out = out.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, "$1<b>$2</b>");
  out = out.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, "$1<i>$2</i>");
  out = out.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, "$1<s>$2</s>");
  out = out.replace(/:([a-z0-9_+\-]+):/g, (whole, name) => (EMOJI[name] ? EMOJI[name] : whole));
  return out.replace(/\u0000(\d+)\u0000/g, (_, n) => tokens[Number(n)]);
}

function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function special(inner) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) {
    return `<span class="mention">@${escapeHtml(person(target.slice(1)))}</span>`;
  }
  if (target.startsWith("#")) {
    return `<span class="mention">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("!subteam^")) return `<span class="mention">${escapeHtml(label || "@group")}</span>`;
  if (target.startsWith("!date^")) return escapeHtml(label || target);
  if (target.startsWith("!")) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  const href = unescapeSlack(target);
  const safe = /^(https?:|mailto:|slack:)/.test(href) ? href : "#";
  return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${escapeHtml(unescapeSlack(label || target))}</a>`;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function mrkdwn(text) {
  const lines = String(text || "").split("\n");
  const html = [];
  let quote = [];
  const flush = () => {
    if (quote.length) html.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
    quote = [];
  };
  for (const line of lines) {
    const quoted = line.match(/^(&gt;|>)\s?(.*)$/);
    if (quoted) {
      quote.push(inlineMrkdwn(quoted[2]));
      continue;
    }
    flush();
    const bullet = line.match(/^(\s*)([•◦▪\-*]|\d+\.)\s+(.*)$/);
    if (bullet) {
      const depth = Math.min(4, Math.floor(bullet[1].length / 2));
      const mark = /\d/.test(bullet[2]) ? bullet[2] : (depth ? "◦" : "•");
      html.push(`<div class="li" style="padding-left:${1 + depth}em"><span class="bullet">${escapeHtml(mark)}</span> ${inlineMrkdwn(bullet[3])}</div>`);
    } else {
      html.push(`<div class="line">${inlineMrkdwn(line) || "&nbsp;"}</div>`);
    }
  }
  flush();
  return html.join("");
}

function textObject(object) {
  if (!object) return "";
  if (object.type === "plain_text") {
    let safe = escapeHtml(object.text || "");
    if (object.emoji !== false) safe = safe.replace(/:([a-z0-9_+\-]+):/g, (w, n) => (EMOJI[n] ? EMOJI[n] : w));
    return safe.replace(/\n/g, "<br>");
  }
  return mrkdwn(object.text || "");
}

function plain(object) {
  return object ? String(object.text || "").replace(/:([a-z0-9_+\-]+):/g, (w, n) => EMOJI[n] || w) : "";
}

// --- Block Kit -------------------------------------------------------------------------------

// ctx: where the blocks are ("message", "home", "modal") and which message or view.
function renderBlocks(blocks, ctx) {
  const box = el("div", {class: "blocks"});
  (blocks || []).forEach((block, index) => {
    const blockId = block.block_id || `b${index}`;
    box.append(renderBlock(block, {...ctx, blockId}));
  });
  return box;
}

function renderBlock(block, ctx) {
  const wrap = el("div", {class: `block block-${block.type}`, "data-block-id": ctx.blockId});
  switch (block.type) {
    case "section": {
      const body = el("div", {class: "section-body"});
      if (block.text) body.append(el("div", {class: "section-text", html: textObject(block.text)}));
      if (block.fields) {
        body.append(el("div", {class: "fields"}, block.fields.map((f) => el("div", {class: "field", html: textObject(f)}))));
      }
      wrap.append(body);
      if (block.accessory) wrap.append(el("div", {class: "accessory"}, renderElement(block.accessory, ctx)));
      break;
    }
    case "header":
      wrap.append(el("h3", {html: textObject(block.text)}));
      break;
    case "divider":
      wrap.append(el("hr"));
      break;
    case "context":
      wrap.append(...(block.elements || []).map((item) =>
        item.type === "image"
          ? el("img", {class: "context-image", src: imageSource(item), alt: item.alt_text || ""})
          : el("span", {class: "context-item", html: textObject(item)})));
      break;
    case "actions":
      wrap.append(...(block.elements || []).map((element) => renderElement(element, ctx)));
      break;
    case "image": {
      if (block.title) wrap.append(el("div", {class: "image-title", html: textObject(block.title)}));
      wrap.append(el("img", {class: "block-image", src: imageSource(block), alt: block.alt_text || ""}));
      break;
    }
    case "input": {
      const label = el("label", {class: "input-label"}, plain(block.label),
        block.optional ? el("span", {class: "optional"}, ` ${T("optional")}`) : null);
      wrap.classList.add("input-block");
      wrap.append(label, renderElement(block.element, {...ctx, input: true, dispatch: block.dispatch_action}));
      if (block.hint) wrap.append(el("div", {class: "hint", html: textObject(block.hint)}));
      wrap.append(el("div", {class: "input-error", hidden: true}));
      break;
    }
    case "rich_text":
      wrap.append(el("div", {class: "rich-text"}, richText(block.elements || [])));
      break;
    case "file":
      wrap.append(el("div", {class: "file"}, "📄 ", block.external_id || "file"));
      break;
    case "markdown":
      wrap.append(el("div", {html: mrkdwn(block.text || "")}));
      break;
    default:
      wrap.append(el("div", {class: "unsupported"}, T("unsupported_block", {type: block.type})));
  }
  return wrap;
}

function richText(elements) {
  return elements.map((section) => {
    const text = (section.elements || []).map((part) => {
      if (part.type === "text") return part.text;
      if (part.type === "user") return `@${person(part.user_id)}`;
      if (part.type === "channel") return `#${channelName(part.channel_id)}`;
      if (part.type === "link") return part.text || part.url;
      if (part.type === "emoji") return emojiOf(part.name);
      if (part.elements) return richText([part]).map((n) => n.textContent).join("");
      return "";
    }).join("");
    return el(section.type === "rich_text_quote" ? "blockquote" : "div", {}, text);
  });
}

function imageSource(item) {
  if (item.image_url) return item.image_url;
  const file = item.slack_file || {};
  if (file.id) return `/sandbox/files/${encodeURIComponent(file.id)}`;
  return file.url || "";
}

function optionsOf(element) {
  if (element.option_groups) return element.option_groups.flatMap((g) => g.options || []);
  return element.options || [];
}

function selectOptions(element, selected) {
  const select = [];
  const add = (option) => el("option", {value: option.value, selected: selected.includes(option.value)}, plain(option.text));
  if (element.option_groups) {
    for (const group of element.option_groups) {
      select.push(el("optgroup", {label: plain(group.label)}, (group.options || []).map(add)));
    }
  } else {
    select.push(...(element.options || []).map(add));
  }
  return select;
}

// One interactive element; in an input block (not dispatching) it only keeps a value.
function renderElement(element, ctx) {
  const actionId = element.action_id || "";
  const attrs = {"data-action-id": actionId, "data-type": element.type};
  const send = (action) => {
    if (ctx.input && !ctx.dispatch) return;
    act(ctx, {...action, type: element.type, action_id: actionId, block_id: ctx.blockId}, element);
  };
  switch (element.type) {
    case "button": {
      const style = element.style ? ` button-${element.style}` : "";
      return el("button", {...attrs, class: `button${style}`, onclick: () => {
        if (element.url) window.open(element.url, "_blank", "noopener");
        send({value: element.value});
      }}, plain(element.text));
    }
    case "static_select":
    case "multi_static_select": {
      const multiple = element.type === "multi_static_select";
      const initial = multiple ? (element.initial_options || []).map((o) => o.value)
        : (element.initial_option ? [element.initial_option.value] : []);
      const select = el("select", {...attrs, multiple, class: "select", onchange: () => {
        const chosen = optionsOf(element).filter((o) => Array.from(select.selectedOptions).some((s) => s.value === o.value));
        send(multiple ? {selected_options: chosen} : {selected_option: chosen[0] || null});
      }}, multiple ? [] : el("option", {value: "", disabled: true, selected: !initial.length}, plain(element.placeholder) || T("choose")),
      selectOptions(element, initial));
      return select;
    }
    case "overflow": {
      const select = el("select", {...attrs, class: "select overflow", onchange: () => {
        const chosen = optionsOf(element).find((o) => o.value === select.value);
        select.value = "";
        if (chosen) send({selected_option: chosen});
      }}, el("option", {value: "", selected: true}, "⋯"), selectOptions(element, []));
      return select;
    }
    case "users_select":
    case "multi_users_select":
    case "conversations_select":
    case "multi_conversations_select":
    case "channels_select":
    case "multi_channels_select": {
      const users = element.type.includes("users");
      const multiple = element.type.startsWith("multi_");
      const choices = users ? ui.state.people.map((p) => [p.id, p.real_name])
        : ui.state.channels.filter((c) => c.kind === "channel").map((c) => [c.id, `#${c.name}`]);
      const initial = [element.initial_user, element.initial_conversation, element.initial_channel,
        ...(element.initial_users || []), ...(element.initial_conversations || []), ...(element.initial_channels || [])].filter(Boolean);
      const select = el("select", {...attrs, multiple, class: "select", onchange: () => {
        const values = Array.from(select.selectedOptions).map((o) => o.value).filter(Boolean);
        const key = element.type.replace("multi_", "").replace("_select", "");
        const single = {users: "selected_user", conversations: "selected_conversation", channels: "selected_channel"}[key];
        send(multiple ? {[`${single}s`]: values} : {[single]: values[0] || null});
      }}, multiple ? [] : el("option", {value: "", selected: !initial.length}, plain(element.placeholder) || T("choose")),
      choices.map(([id, name]) => el("option", {value: id, selected: initial.includes(id)}, name)));
      return select;
    }
    case "datepicker":
      return el("input", {...attrs, type: "date", class: "date", value: element.initial_date || "",
        onchange: (e) => send({selected_date: e.target.value || null})});
    case "timepicker":
      return el("input", {...attrs, type: "time", class: "date", value: element.initial_time || "",
        onchange: (e) => send({selected_time: e.target.value || null})});
    case "checkboxes":
    case "radio_buttons": {
      const box = el("div", {...attrs, class: "choices"});
      const initial = element.type === "checkboxes" ? (element.initial_options || []).map((o) => o.value)
        : (element.initial_option ? [element.initial_option.value] : []);
      const name = `${ctx.blockId}-${actionId}`;
      for (const option of element.options || []) {
        const input = el("input", {type: element.type === "checkboxes" ? "checkbox" : "radio", name,
          value: option.value, checked: initial.includes(option.value), onchange: () => {
            const chosen = (element.options || []).filter((o) => box.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
            send(element.type === "checkboxes" ? {selected_options: chosen} : {selected_option: chosen[0] || null});
          }});
        box.append(el("label", {class: "choice"}, input, " ", el("span", {html: textObject(option.text)}),
          option.description ? el("span", {class: "hint", html: " — " + textObject(option.description)}) : null));
      }
      return box;
    }
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const kind = {email_text_input: "email", url_text_input: "url", number_input: "number"}[element.type] || "text";
      const common = {...attrs, placeholder: plain(element.placeholder) || null, maxlength: element.max_length || null};
      if (element.multiline) return el("textarea", {...common, rows: 4, class: "text-input"}, element.initial_value || "");
      return el("input", {...common, type: kind, class: "text-input", value: element.initial_value || ""});
    }
    case "image":
      return el("img", {class: "accessory-image", src: imageSource(element), alt: element.alt_text || ""});
    default:
      return el("span", {class: "unsupported"}, T("unsupported_element", {type: element.type}));
  }
}

// --- talking to the sandbox ------------------------------------------------------------------

async function call(name, body) {
  let answer;
  try {
    const response = await fetch(`/sandbox/api/${name}`, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({as: ui.me, ...body}),
    });
    answer = await response.json();
  } catch (error) {
    answer = {ok: false, error: T("no_answer", {error: error.message})};
  }
  if (!answer.ok && answer.error) showNotice({level: "error", text: answer.error});
  await poll(true);
  return answer;
}

function act(ctx, action, element) {
  const run = () => call("action", {
    where: ctx.where, channel: ctx.channel, ts: ctx.ts, view_id: ctx.viewId,
    block_id: action.block_id, action_id: action.action_id, action,
    state: ctx.where === "modal" ? {values: collectValues()} : undefined,
  });
  if (element && element.confirm) confirmThen(element.confirm, run);
  else run();
}

function confirmThen(confirm, run) {
  const layer = document.getElementById("confirm-layer");
  layer.replaceChildren(el("div", {class: "dialog confirm"},
    el("h3", {}, plain(confirm.title) || T("are_you_sure")),
    el("div", {html: textObject(confirm.text)}),
    el("div", {class: "dialog-buttons"},
      el("button", {class: "button", onclick: () => { layer.hidden = true; }}, plain(confirm.deny) || T("cancel")),
      el("button", {class: `button button-${confirm.style || "primary"}`, onclick: () => { layer.hidden = true; run(); }},
        plain(confirm.confirm) || T("yes")))));
  layer.hidden = false;
}

async function poll(force) {
  const params = new URLSearchParams({as: ui.me || "", channel: ui.channel || "", thread: ui.thread || ""});
  let state;
  try {
    const response = await fetch(`/sandbox/api/state?${params}`);
    if (!response.ok) return;
    state = await response.json();
  } catch (error) {
    return;  // the sandbox restarts: the next poll tries again
  }
  ui.me = state.me;  // the server falls back to the demo's employee for an unknown person
  if (!ui.channel || (ui.channel !== "home" && !state.channel)) {
    ui.channel = state.channels[0].id;  // a conversation this person is not in: their DM
    ui.thread = null;
    return poll(true);
  }
  const key = `${state.version}|${state.me}|${ui.channel}|${ui.thread}`;
  if (state.notice) showNotice(state.notice);
  if (!force && key === ui.drawn) return;
  ui.state = state;
  ui.drawn = key;
  draw();
}

// --- drawing ---------------------------------------------------------------------------------

function draw() {
  const s = ui.state;
  const picker = document.getElementById("as");
  if (picker.options.length !== s.people.length) {
    picker.replaceChildren(...s.people.map((p) => el("option", {value: p.id}, `${p.real_name} — ${p.role_label}`)));
  }
  picker.value = ui.me;
  document.getElementById("clock").textContent = `🕒 ${clockLabel(s.clock.now)}`;
  // The static words of index.html, in the person's language.
  document.documentElement.lang = s.lang;
  document.querySelectorAll("[data-text]").forEach((node) => { node.textContent = T(node.dataset.text); });
  document.querySelectorAll("[data-title]").forEach((node) => { node.title = T(node.dataset.title); });
  document.querySelectorAll("[data-placeholder]").forEach((node) => { node.placeholder = T(node.dataset.placeholder); });
  drawSidebar(s);
  const home = ui.channel === "home";
  document.getElementById("home").hidden = !home;
  document.getElementById("messages").hidden = home;
  document.getElementById("composer-box").hidden = home;
  if (home) drawHome(s);
  else drawChannel(s);
  drawThread(s);
  drawModal(s);
  const address = "#" + new URLSearchParams({as: ui.me, c: ui.channel, ...(ui.thread ? {t: ui.thread} : {})}).toString();
  if (location.hash !== address) history.replaceState(null, "", address);
}

function drawSidebar(s) {
  const apps = document.getElementById("apps");
  const dm = s.channels.find((c) => c.kind === "app");
  apps.replaceChildren(
    el("li", {"data-home": true, class: ui.channel === "home" ? "selected" : "", onclick: () => select("home")}, `🏠 ${T("home_tab")}`),
    el("li", {"data-channel": dm.id, class: ui.channel === dm.id ? "selected" : "", onclick: () => select(dm.id)}, `💬 ${T("messages_tab")}`));
  document.getElementById("channels").replaceChildren(...s.channels.filter((c) => c.kind !== "app").map((c) =>
    el("li", {"data-channel": c.id, class: ui.channel === c.id ? "selected" : "", onclick: () => select(c.id)},
      c.kind === "channel" ? `# ${c.name}` : c.name)));
}

function select(channel) {
  ui.channel = channel;
  ui.thread = null;
  if (channel === "home") call("open_home", {});
  else poll(true);
}

function drawHome(s) {
  document.getElementById("header").replaceChildren(el("h2", {}, "Jerry"), el("span", {class: "tab"}, T("home")));
  const pane = document.getElementById("home");
  pane.replaceChildren(s.home ? renderBlocks(s.home.blocks, {where: "home", viewId: s.home.id})
    : el("div", {class: "empty"}, T("loading_home")));
}

function drawChannel(s) {
  const c = s.channel;
  if (!c) return;
  const title = c.kind === "app" ? "Jerry" : `# ${c.name}`;
  document.getElementById("header").replaceChildren(el("h2", {}, title),
    ...(c.kind === "app" ? [el("span", {class: "tab"}, T("messages"))] : []));
  document.getElementById("composer").placeholder = T("message_placeholder", {name: c.kind === "app" ? "Jerry" : `#${c.name}`});
  const pane = document.getElementById("messages");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  pane.replaceChildren(...(c.messages.length ? c.messages.map((m) => drawMessage(m, c.id, false))
    : [el("div", {class: "empty"}, T("no_messages"))]));
  if (atBottom || !pane.dataset.drawn || pane.dataset.drawn !== c.id) pane.scrollTop = pane.scrollHeight;
  pane.dataset.drawn = c.id;
}

function drawMessage(m, channel, inThread) {
  const ctx = {where: "message", channel, ts: m.ts};
  const body = el("div", {class: "message-body"});
  if (m.blocks && m.blocks.length) body.append(renderBlocks(m.blocks, ctx));
  else body.append(el("div", {class: "message-text", html: mrkdwn(m.text)}));
  for (const file of m.files || []) {
    body.append(el("a", {class: "file", href: file.url, target: "_blank"}, `📄 ${file.title || file.name}`));
  }
  const reactions = el("div", {class: "reactions"}, (m.reactions || []).map((r) =>
    el("button", {class: `reaction${r.mine ? " mine" : ""}`, title: `:${r.name}:`,
      onclick: () => call("react", {channel, ts: m.ts, name: r.name, remove: r.mine})},
    `${emojiOf(r.name)} ${r.count}`)));
  const toolbar = m.ephemeral ? null : el("div", {class: "toolbar"},
    el("button", {"data-react": true, title: T("add_reaction"), onclick: (e) => pickEmoji(e.target, channel, m.ts)}, "☺+"),
    inThread ? null : el("button", {"data-reply": true, title: T("reply_in_thread"), onclick: () => openThread(m.ts)}, "💬"),
    el("button", {"data-shortcut": true, title: T("send_to_jerry"), onclick: () => call("shortcut", {channel, ts: m.ts})}, T("send_to_jerry")));
  return el("div", {class: `message${m.ephemeral ? " ephemeral" : ""}`, "data-ts": m.ts},
    el("div", {class: `avatar${m.is_bot ? " bot" : ""}`}, m.is_bot ? "J" : (m.name || "?").slice(0, 1)),
    el("div", {class: "message-main"},
      el("div", {class: "message-head"}, el("b", {}, m.name), m.is_bot ? el("span", {class: "app-tag"}, "APP") : null,
        el("span", {class: "time"}, timeOf(m.ts)), m.edited ? el("span", {class: "time"}, T("edited")) : null,
        m.ephemeral ? el("span", {class: "only-you"}, T("only_you")) : null),
      body, reactions,
      !inThread && m.reply_count ? el("a", {class: "replies", onclick: () => openThread(m.ts)},
        m.replies_label) : null),
    toolbar);
}

function pickEmoji(anchor, channel, ts) {
  const picker = el("div", {class: "emoji-picker"}, ui.state.emoji.map((name) =>
    el("button", {title: `:${name}:`, "data-emoji": name, onclick: () => { picker.remove(); call("react", {channel, ts, name}); }}, emojiOf(name))));
  document.querySelectorAll(".emoji-picker").forEach((p) => p.remove());
  anchor.closest(".message").append(picker);
}

function openThread(ts) {
  ui.thread = ts;
  poll(true);
}

function drawThread(s) {
  const aside = document.getElementById("thread");
  aside.hidden = !s.thread;
  if (!s.thread) return;
  const channel = s.channel.id;
  const pane = document.getElementById("thread-messages");
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  const opened = pane.dataset.drawn !== s.thread.root.ts;
  pane.replaceChildren(drawMessage(s.thread.root, channel, true),
    el("div", {class: "thread-count"}, s.thread.replies_label),
    ...s.thread.replies.map((m) => drawMessage(m, channel, true)));
  if (opened || atBottom) pane.scrollTop = pane.scrollHeight;  // the latest reply, as Slack does
  pane.dataset.drawn = s.thread.root.ts;
}

function drawModal(s) {
  const layer = document.getElementById("modal-layer");
  const view = s.modal;
  if (!view) {
    layer.hidden = true;
    layer.replaceChildren();
    ui.modalHash = null;
    return;
  }
  if (ui.modalHash === `${view.id}:${view.hash}`) return;  // keep what the person typed
  ui.modalHash = `${view.id}:${view.hash}`;
  const ctx = {where: "modal", viewId: view.id};
  layer.replaceChildren(el("div", {class: "modal dialog", "data-view-id": view.id, role: "dialog"},
    el("header", {}, el("h3", {}, plain(view.title)), el("button", {class: "x", "aria-label": T("close"), onclick: closeModal}, "×")),
    el("div", {class: "modal-body"}, renderBlocks(view.blocks, ctx)),
    el("footer", {class: "dialog-buttons"},
      el("button", {id: "modal-close", class: "button", onclick: closeModal}, plain(view.close) || T("cancel")),
      view.submit ? el("button", {id: "modal-submit", class: "button button-primary", onclick: submitModal}, plain(view.submit)) : null)));
  layer.hidden = false;
}

function collectValues() {
  const values = {};
  document.querySelectorAll("#modal-layer .input-block").forEach((block) => {
    const field = block.querySelector("[data-action-id]");
    if (!field) return;
    const blockId = block.dataset.blockId;
    const actionId = field.dataset.actionId;
    const type = field.dataset.type;
    const view = ui.state.modal;
    const element = (view.blocks.find((b, i) => (b.block_id || `b${i}`) === blockId) || {}).element || {};
    let value = {type};
    if (["plain_text_input", "email_text_input", "url_text_input", "number_input"].includes(type)) {
      value.value = field.value === "" ? null : field.value;
    } else if (type === "static_select" || type === "multi_static_select") {
      const chosen = optionsOf(element).filter((o) => Array.from(field.selectedOptions).some((s) => s.value === o.value && s.value !== ""));
      value = type === "static_select" ? {type, selected_option: chosen[0] || null} : {type, selected_options: chosen};
    } else if (type === "checkboxes" || type === "radio_buttons") {
      const chosen = (element.options || []).filter((o) => field.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
      value = type === "checkboxes" ? {type, selected_options: chosen} : {type, selected_option: chosen[0] || null};
    } else if (type === "datepicker") {
      value.selected_date = field.value || null;
    } else if (type === "timepicker") {
      value.selected_time = field.value || null;
    } else if (type.endsWith("_select")) {
      const picked = Array.from(field.selectedOptions).map((o) => o.value).filter(Boolean);
      const key = {users: "selected_user", conversations: "selected_conversation", channels: "selected_channel"}[type.replace("multi_", "").replace("_select", "")];
      if (type.startsWith("multi_")) value[`${key}s`] = picked;
      else value[key] = picked[0] || null;
    }
    values[blockId] = {[actionId]: value};
  });
  return values;
}

async function submitModal() {
  const view = ui.state.modal;
  document.querySelectorAll("#modal-layer .input-error").forEach((e) => { e.hidden = true; });
  const answer = await call("submit", {view_id: view.id, values: collectValues()});
  if (answer.errors) {
    for (const [blockId, message] of Object.entries(answer.errors)) {
      const box = document.querySelector(`#modal-layer [data-block-id="${CSS.escape(blockId)}"] .input-error`);
      if (box) { box.textContent = message; box.hidden = false; }
      else showNotice({level: "error", text: message});
    }
  }
}

function closeModal() {
  const view = ui.state.modal;
  if (view) call("close", {view_id: view.id});
}

function showNotice(notice) {
  const box = document.getElementById("notice");
  box.className = `notice-${notice.level}`;
  box.replaceChildren(el("span", {}, notice.text), el("button", {"aria-label": T("close"), onclick: () => { box.hidden = true; }}, "×"));
  box.hidden = false;
}

// --- the composers ---------------------------------------------------------------------------

function send(textarea, threadTs) {
  const text = textarea.value.trim();
  if (!text) return;
  textarea.value = "";
  document.getElementById("autocomplete").hidden = true;
  call("post", {channel: ui.state.channel.id, text, thread_ts: threadTs || undefined});
}

function onKey(event, threadTs) {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    send(event.target, threadTs ? ui.thread : null);
  }
}

function suggest() {
  const composer = document.getElementById("composer");
  const box = document.getElementById("autocomplete");
  const text = composer.value;
  let items = [];
  if (/^\/\S*$/.test(text)) {
    items = ui.state.commands.filter((c) => c.command.startsWith(text)).map((c) =>
      el("div", {class: "suggestion", onclick: () => { composer.value = `${c.command} `; box.hidden = true; composer.focus(); }},
        el("b", {}, c.command), " ", el("span", {class: "hint"}, `${c.usage_hint} — ${c.description}`)));
  } else {
    const at = text.match(/@(\w*)$/);
    if (at) {
      const names = [ui.state.bot.name, ...ui.state.people.map((p) => p.real_name)];
      items = names.filter((n) => n.toLowerCase().startsWith(at[1].toLowerCase())).map((n) =>
        el("div", {class: "suggestion", onclick: () => { composer.value = text.replace(/@(\w*)$/, `@${n} `); box.hidden = true; composer.focus(); }}, `@${n}`));
    }
  }
  box.replaceChildren(...items);
  box.hidden = !items.length;
}

// --- start -----------------------------------------------------------------------------------

// The address keeps who you are and where: a reload, a link or the back button returns there.
function readAddress() {
  const saved = new URLSearchParams(location.hash.slice(1));
  const wanted = [saved.get("as"), saved.get("c"), saved.get("t")];
  if (wanted[0] === ui.me && wanted[1] === ui.channel && wanted[2] === ui.thread) return false;
  if (wanted[0] !== ui.me) ui.modalHash = null;
  [ui.me, ui.channel, ui.thread] = wanted;
  return true;
}

function start() {
  readAddress();
  window.addEventListener("hashchange", () => {
    if (readAddress()) poll(true).then(() => { if (ui.channel === "home") call("open_home", {}); });
  });
  document.getElementById("as").addEventListener("change", (e) => {
    ui.me = e.target.value;
    ui.channel = null;
    ui.thread = null;
    ui.modalHash = null;
    poll(true);
  });
  document.querySelectorAll("[data-skip]").forEach((button) => button.addEventListener("click", () => call("skip", {by: button.dataset.skip})));
  const composer = document.getElementById("composer");
  composer.addEventListener("keydown", (e) => onKey(e, false));
  composer.addEventListener("input", suggest);
  document.getElementById("thread-composer").addEventListener("keydown", (e) => onKey(e, true));
  document.getElementById("thread-close").addEventListener("click", () => { ui.thread = null; poll(true); });
  poll(true).then(() => { if (ui.channel === "home") call("open_home", {}); });
  setInterval(() => poll(false), 800);
}

start();
