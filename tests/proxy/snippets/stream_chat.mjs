// Node: the `openai` npm package through `odsc-llm proxy` (no OCI code at all).
// OPENAI_BASE_URL and OPENAI_API_KEY come from the proxy's export lines.
import OpenAI from "openai";

const client = new OpenAI();
const stream = await client.chat.completions.create({
  model: "odsc-llm",
  messages: [{ role: "user", content: "hello from node" }],
  stream: true,
});
let text = "";
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? "";
}
console.log(text);
