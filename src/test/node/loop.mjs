// An agent loop with the Vercel AI SDK, run by NpmClientLoopTest against a real Skiff.
//
// node loop.mjs '{"baseURL":"http://127.0.0.1:PORT/v1","api":"responses|chat|compatible|anthropic","model":"...","stream":true}'
//
// Two user turns, each a tool loop of up to four steps: the mock providers behind Skiff call the
// Bash tool first and answer "Two files." once its result is in the conversation. Prints one JSON
// object: what each turn ended with, and every request body the SDK sent to Skiff (so the test can
// check, say, that the Responses model referred to stored items by id). Exits 1 on any error.
import { generateText, streamText, stepCountIs, tool, jsonSchema } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';

const config = JSON.parse(process.argv[2]);
const requests = [];

// Records what the SDK sends; the SDK's own fetch does the rest.
const recordingFetch = async (url, init) => {
  const body = typeof init?.body === 'string' ? init.body : null;
  const response = await fetch(url, init);
  requests.push({ url: String(url), status: response.status, body: body == null ? null : JSON.parse(body),
    dropped: response.headers.get('x-skiff-dropped-fields') });
  return response;
};

function model() {
  switch (config.api) {
    case 'responses':
      return createOpenAI({ baseURL: config.baseURL, apiKey: 'sk-skiff-test', fetch: recordingFetch }).responses(config.model);
    case 'chat':
      return createOpenAI({ baseURL: config.baseURL, apiKey: 'sk-skiff-test', fetch: recordingFetch }).chat(config.model);
    case 'compatible':
      return createOpenAICompatible({ name: 'skiff', baseURL: config.baseURL, apiKey: 'sk-skiff-test', fetch: recordingFetch })
        .chatModel(config.model);
    case 'anthropic':
      return createAnthropic({ baseURL: config.baseURL, apiKey: 'sk-skiff-test', fetch: recordingFetch })(config.model);
    default:
      throw new Error('unknown api ' + config.api);
  }
}

const tools = {
  Bash: tool({
    description: 'Run a command',
    inputSchema: jsonSchema({ type: 'object', properties: { command: { type: 'string' } }, required: ['command'] }),
    execute: async ({ command }) => (command === 'ls' ? 'a.txt b.txt' : 'unknown command'),
  }),
};

const providerOptions = config.api === 'responses'
  ? { openai: { store: true } }
  : config.api === 'anthropic' ? { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } } : {};

async function turn(messages) {
  const options = { model: model(), system: 'You are a coding agent.', messages, tools, stopWhen: stepCountIs(4), providerOptions,
    maxRetries: 0 };
  if (!config.stream) {
    const r = await generateText(options);
    return { text: r.text, finishReason: r.finishReason, steps: r.steps.map(describe), messages: r.response.messages };
  }
  let failure = null;
  const r = streamText({ ...options, onError: ({ error }) => { failure = error; } });
  let text = '';
  for await (const delta of r.textStream) text += delta;
  if (failure) throw failure;
  const steps = await r.steps;
  return { text, finishReason: await r.finishReason, steps: steps.map(describe), messages: (await r.response).messages };
}

function describe(step) {
  return {
    finishReason: step.finishReason,
    text: step.text,
    reasoning: step.reasoningText ?? null,
    toolCalls: step.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
    toolResults: step.toolResults.map((r) => ({ id: r.toolCallId, output: r.output })),
  };
}

try {
  const messages = [{ role: 'user', content: 'list files' }];
  const first = await turn(messages);
  messages.push(...first.messages, { role: 'user', content: 'and again, in one word?' });
  const second = await turn(messages);
  delete first.messages;
  delete second.messages;
  console.log(JSON.stringify({ ok: true, turns: [first, second], requests }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.message ?? e), cause: String(e?.responseBody ?? ''), requests }));
  process.exitCode = 1;
}
