// Parses an AsyncAPI document with the official parser (@asyncapi/parser) and prints either
//   (default)   one JSON object: the parser's diagnostics, what the document declares
//               (channels, their addresses, messages and resolved payloads' $id, operations)
//               and the Markdown view below, for tests/unit/test_asyncapi.py;
//   --markdown  the readable view of the document (docs/topics.md, `make docs`), or the
//               error diagnostics on stderr and exit status 1 when the document is not valid.
//
//   node tests/asyncapi/asyncapi.mjs [--markdown] NPM_DIR DOCUMENT
//
// NPM_DIR is the folder `make npm-deps` installed the parser in (.windvane/npm).
// Exit status (default mode): 0 when the document parsed, 2 otherwise.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const args = process.argv.slice(2);
const markdownOnly = args[0] === "--markdown";
const [npmDir, documentPath] = markdownOnly ? args.slice(1) : args;
if (!npmDir || !documentPath) {
  console.error("usage: asyncapi.mjs [--markdown] NPM_DIR DOCUMENT");
  process.exit(2);
}
const require = createRequire(path.resolve(npmDir, "package.json"));
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");
const version = require("@asyncapi/parser/package.json").version;

const source = path.resolve(documentPath);
const { document: parsed, diagnostics } = await new Parser().parse(readFileSync(source, "utf8"), {
  source,
});
const severities = Object.fromEntries(
  Object.entries(DiagnosticSeverity).map(([name, n]) => [n, name.toLowerCase()]),
);
const found = diagnostics.map((d) => ({
  severity: severities[d.severity] ?? String(d.severity),
  code: d.code,
  message: d.message,
  path: d.path,
}));

// -- the readable view ------------------------------------------------------------------
const SCHEMA_ID = /^https:\/\/windvane\.dev\/schemas\/([a-z0-9-]+)\/(v[0-9]+)$/;

const cell = (text) => String(text ?? "").replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
const code = (text) => "`" + text + "`";

function schemaLink(json, prefix) {
  const id = json?.["$id"];
  const match = id && SCHEMA_ID.exec(id);
  if (match) return `[${match[1]} ${match[2]}](${prefix}schemas/${match[1]}.json)`;
  return json?.["x-parser-schema-id"] ? `${code(json["x-parser-schema-id"])} (internal)` : "";
}

function typeOf(s) {
  if (s === true || s === undefined || s === null) return "any";
  if (s === false) return "nothing";
  if ("const" in s) return code(JSON.stringify(s.const));
  if (s.enum) return s.enum.map((v) => code(JSON.stringify(v))).join(" | ");
  const branches = s.oneOf ?? s.anyOf;
  if (branches) return branches.map(typeOf).join(" or ");
  const types = s.type === undefined ? [] : [].concat(s.type);
  const shown = types.map((t) => (t === "array" && s.items ? `array of ${typeOf(s.items)}` : t));
  if (!shown.length && s.additionalProperties) return `map of ${typeOf(s.additionalProperties)}`;
  return shown.join(" | ") || "any";
}

function fieldRows(s, lines) {
  const required = new Set(s.required ?? []);
  for (const [name, field] of Object.entries(s.properties ?? {})) {
    const about = field.description ?? field.title ?? (field.format ? `format ${field.format}` : "");
    lines.push(`| ${code(name)} | ${cell(typeOf(field))} | ${required.has(name) ? "yes" : ""} | ${cell(about)} |`);
  }
}

function fields(s, lines) {
  const parts = [];
  if (s.properties) parts.push([null, s]);
  for (const [i, branch] of (s.oneOf ?? []).entries()) {
    if (branch.properties) parts.push([branch.title ?? `shape ${i + 1}`, branch]);
  }
  if (s.if) {
    if (s.then?.properties) parts.push([s.then.title ?? "then", s.then]);
    if (s.else?.properties) parts.push([s.else.title ?? "else", s.else]);
  }
  if (!parts.length) {
    lines.push(`Value: ${cell(typeOf(s))}.`, "");
    return;
  }
  for (const [title, part] of parts) {
    if (title) lines.push(`*${title}*`, "");
    lines.push("| field | type | required | about |", "|---|---|---|---|");
    fieldRows(part, lines);
    lines.push("");
  }
}

function markdown(doc) {
  const info = doc.info();
  const lines = [
    `# ${info.title()} topics`,
    "",
    `<!-- Made by \`make docs\` from asyncapi.yaml (tests/asyncapi/asyncapi.mjs, @asyncapi/parser ${version}); do not edit. -->`,
    "",
    `AsyncAPI ${doc.version()} document [asyncapi.yaml](../asyncapi.yaml), version ${info.version()}.`,
    "",
    info.description().trim(),
    "",
  ];
  const ops = doc.operations().all();
  const internal = (c) => c.json()["x-windvane-internal"] === true;
  const who = (channel, action) =>
    ops
      .filter((o) => o.action() === action && o.channels().all().some((c) => c.id() === channel.id()))
      .map((o) => o.tags().all()[0]?.name() ?? o.id())
      .filter((v, i, all) => all.indexOf(v) === i)
      .join(", ") || (action === "send" && !internal(channel) ? "producers outside windvane" : "");
  const channels = doc.channels().all();
  for (const [heading, list] of [
    ["Topics", channels.filter((c) => !internal(c))],
    ["Internal topics", channels.filter(internal)],
  ]) {
    lines.push(`## ${heading}`, "", "| topic | key | value | headers | written by | read by |", "|---|---|---|---|---|---|");
    for (const c of list) {
      for (const m of c.messages().all()) {
        const key = m.bindings().get("kafka")?.value()?.key;
        const headers = m.hasHeaders() ? m.headers().json() : undefined;
        const shownHeaders = headers?.["$id"]
          ? schemaLink(headers, "../")
          : headers?.required?.length ? "required" : headers ? "any or none" : "none";
        lines.push(
          `| [${code(c.address())}](#${c.id().toLowerCase()}) | ${cell(key?.description ?? typeOf(key))} | ${schemaLink(m.payload()?.json(), "../")} | ${shownHeaders} | ${who(c, "send")} | ${who(c, "receive")} |`,
        );
      }
    }
    lines.push("");
  }
  lines.push("## Each topic", "");
  for (const c of channels) {
    lines.push(`### ${c.id()}`, "", `${code(c.address())}${c.title() ? ": " + c.title() : ""}. ${c.description() ?? ""}`.trim(), "");
    for (const m of c.messages().all()) {
      const payload = m.payload()?.json();
      const link = schemaLink(payload, "../");
      lines.push(`Message ${code(m.id())}${m.title() ? ` (${m.title()})` : ""}${link ? `, schema ${link}` : ""}. ${m.description() ?? ""}`.trim(), "");
      if (payload) fields(payload, lines);
    }
  }
  lines.push("## Operations", "", "| operation | service | action | topic | what |", "|---|---|---|---|---|");
  for (const o of ops) {
    const topics = o.channels().all().map((c) => code(c.address())).join(", ");
    const what = [o.title(), o.summary()].filter(Boolean).join(": ");
    lines.push(`| ${code(o.id())} | ${o.tags().all()[0]?.name() ?? ""} | ${o.action()} | ${topics} | ${cell(what)} |`);
  }
  lines.push("");
  return lines.join("\n");
}

// -- output -----------------------------------------------------------------------------
if (markdownOnly) {
  const errors = found.filter((d) => d.severity === "error");
  if (!parsed || errors.length) {
    console.error(JSON.stringify(errors, null, 2));
    process.exit(1);
  }
  process.stdout.write(markdown(parsed));
  process.exit(0);
}
const out = { parser: version, parsed: parsed !== undefined, diagnostics: found, channels: {}, operations: {} };
if (parsed) {
  for (const channel of parsed.channels()) {
    const messages = channel.messages().all();
    out.channels[channel.id()] = {
      address: channel.address(),
      messages: messages.map((m) => m.id()),
      // the resolved payloads: proof that each $ref into schemas/ was found and read
      payload_ids: messages.map((m) => (m.hasPayload() ? m.payload().json()["$id"] ?? null : null)),
    };
  }
  for (const operation of parsed.operations()) {
    out.operations[operation.id()] = {
      action: operation.action(),
      channels: operation.channels().all().map((c) => c.id()),
    };
  }
  out.markdown = markdown(parsed);
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(parsed ? 0 : 2);
