"""Quickstart: stream a completion, then a chat completion, from a model deployment.

Runs as is on any machine, with no OCI account: it starts a local emulator of a model
deployment (odsc_llm.testing.LocalDeployment), which checks the OCI request signature
and answers "You said: <your prompt>" token by token.

    python examples/quickstart.py
"""

from __future__ import annotations

import odsc_llm
from odsc_llm.testing import LocalDeployment


def main() -> None:
    with LocalDeployment(token_delay=0.05) as local:
        client = odsc_llm.Client(deployment=local.deployment, auth=local.auth)
        # For a real deployment, this one line is all that changes:
        # client = odsc_llm.Client(deployment="https://modeldeployment.<region>.oci.customer-oci.com/<deployment-ocid>", auth=odsc_llm.auth.default())  # noqa: E501

        print("completion, streamed token by token:")
        with client.completions.create(
            prompt="What are activation functions in a neural network?",
            max_tokens=250,
            temperature=0.7,
            top_p=0.8,
            stream=True,
        ) as stream:
            for text in stream.text():
                print(text, end="", flush=True)
        print()

        print("chat completion:")
        reply = client.chat.completions.create(
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Explain ReLU in one sentence."},
            ],
            max_tokens=100,
        )
        print(reply.choices[0].message.content)
        tokens = reply.usage.total_tokens if reply.usage else "?"
        print(f"(opc-request-id: {reply.request_id}; tokens used: {tokens})")
        client.close()


if __name__ == "__main__":
    main()
