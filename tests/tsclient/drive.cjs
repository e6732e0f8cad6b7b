// Drives SuperOffice's own TypeScript WebAPI client (@superoffice/webapi) against a server and
// prints one JSON report on stdout: for every WebhookAgent call, what the client sent (from axios'
// request config) and what it returned after its own converters ran, or the error it threw.
//
// CommonJS on purpose: the package's ESM build (dist/esm) imports './WebApiBase' without a file
// extension, which Node's ESM loader refuses (ERR_MODULE_NOT_FOUND); require() takes dist/cjs.
//
// Usage: node drive.cjs '{"modules": "<dir with node_modules>", "baseUrl": "http://host:port/",
//                         "username": "...", "password": "...", "targetUrl": "https://...",
//                         "secret": "...", "tag": "...", "fallbackId": 12 | null}'
// fallbackId: a webhook to use for the id-taking calls when the client's own SaveWebhook failed.
"use strict";

const { createRequire } = require("node:module");
const path = require("node:path");

const settings = JSON.parse(process.argv[2]);
// The package as an app that installed it resolves it (its "exports", "require" condition), from
// the directory `npm ci` installed the pinned lock file into (outside the git tree).
const requireInstalled = createRequire(path.join(settings.modules, "package.json"));
const { WebhookAgent, WebhookState } = requireInstalled("@superoffice/webapi");

/** The request axios sent, as the client built it (headers flattened, body as sent). */
function sentRequest(config) {
  if (!config) return null;
  const headers = config.headers && config.headers.toJSON ? config.headers.toJSON() : { ...config.headers };
  return { method: config.method, baseURL: config.baseURL, url: config.url, headers, body: config.data ?? null };
}

/** What a failed call threw: the HTTP status and body for an HTTP error, else the JS error. */
function describeError(error) {
  if (error && error.response) {
    return { status: error.response.status, data: error.response.data, message: error.message };
  }
  return { status: null, data: null, message: String(error && error.stack ? error.stack : error) };
}

/**
 * Runs one client call with an options object whose responseCallback captures the response, so
 * that the report holds the request the client really sent and the raw answer next to the value
 * the client returned. Resolves to the live value (undefined when the call threw); the report
 * keeps a JSON snapshot, so that later steps that change the object do not change the report.
 */
async function step(report, name, call) {
  let response = null;
  let thrown = null;
  const options = { responseCallback: (r) => { response = r; } };
  const entry = { step: name };
  let value;
  try {
    value = await call(options);
    entry.ok = true;
    entry.value = value === undefined ? null : JSON.parse(JSON.stringify(value)); // Dates as ISO text
  } catch (error) {
    thrown = error;
    entry.ok = false;
    entry.error = describeError(error);
  }
  // An HTTP error carries its request; a converter that threw on a 200 answer (a flag enum sent
  // as a number) leaves it on the captured response, next to the raw answer it choked on.
  const config = (thrown && thrown.config) || (response && response.config);
  entry.request = sentRequest(config);
  entry.status = response ? response.status : entry.error ? entry.error.status : null;
  entry.answer = response ? response.data : entry.error ? entry.error.data : null;
  report.push(entry);
  return value;
}

async function main() {
  // The README's "configure the agents directly" form: an AxiosRequestConfig with Basic auth.
  const agent = new WebhookAgent(settings.baseUrl, {
    auth: { username: settings.username, password: settings.password },
  });
  const report = [];
  const name = `${settings.tag} hook`;

  const created = await step(report, "CreateDefaultWebhook", (o) => agent.createDefaultWebhookAsync(o));

  // The README's first example: fill in the default entity and save it (with the carrier's own,
  // typed, camelCase property names; the README's `hook.Name = ...` does not compile in TS).
  const fresh = created ? { ...created } : {};
  fresh.name = name;
  fresh.events = ["contact.created"];
  fresh.targetUrl = settings.targetUrl;
  fresh.secret = settings.secret;
  fresh.type = "webhook";
  const saved = await step(report, "SaveWebhook:create", (o) => agent.saveWebhookAsync(fresh, o));
  const id = saved && saved.webhookId ? saved.webhookId : settings.fallbackId;

  const got = await step(report, "GetWebhook", (o) => agent.getWebhookAsync(id, o));

  // Re-save the very object the client received, with a changed name and one more event.
  const received = got || { ...fresh, webhookId: id };
  received.name = `${name} renamed`;
  received.events = [...(received.events || []), "contact.changed"];
  await step(report, "SaveWebhook:update", (o) => agent.saveWebhookAsync(received, o));

  // Both overloads: positional filters, and the request object (Unknown = no state filter).
  await step(report, "GetAllWebhooks:byName", (o) =>
    agent.getAllWebhooksAsync(`${name} renamed`, "contact.changed", WebhookState.Active, o));
  await step(report, "GetAllWebhooks:byEvent", (o) =>
    agent.getAllWebhooksAsync({ nameFilter: null, eventFilter: "contact.changed", statusFilter: WebhookState.Unknown }, o));
  await step(report, "GetAllWebhooks:stopped", (o) =>
    agent.getAllWebhooksAsync(null, null, WebhookState.Stopped, o));
  // Per-call options as WebApiRequestOptions documents them: '' disables language parsing (empty
  // Accept-Language, SO-Language and SO-Culture headers); a SuperOffice time zone id with
  // includeTZOffset (SO-Timezone: UTC,includeTZOffset).
  await step(report, "GetAllWebhooks:options", (o) =>
    agent.getAllWebhooksAsync({ nameFilter: `${name} renamed`, eventFilter: null, statusFilter: WebhookState.Unknown },
      { ...o, languageCode: "", cultureCode: "", timezone: "UTC", timezoneInclude: true }));

  await step(report, "TestWebhook", (o) => agent.testWebhookAsync(received, o));
  await step(report, "SignalEvent", (o) =>
    agent.signalEventAsync("contact.created", 7, { tag: settings.tag }, o));
  await step(report, "GetLastError", (o) => agent.getLastErrorAsync(id, o));
  await step(report, "DeleteWebhook", (o) => agent.deleteWebhookAsync(id, o));
  await step(report, "GetWebhook:afterDelete", (o) => agent.getWebhookAsync(id, o));

  process.stdout.write(JSON.stringify({ webhookId: id, steps: report }, null, 1) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
