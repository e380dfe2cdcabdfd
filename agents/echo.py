"""The echo agent: answers every ``echo.Ping`` on ``echo`` with an ``echo.Pong``.

agentstream worker agents.echo:app
agentstream ask echo echo.Ping '{"text": "hi"}'
"""

import os

from schemas.echo import Ping, Pong
from streams import App, Context

app = App("echo", partitions=4)


@app.agent("echo")
async def echo(msg: Ping, ctx: Context) -> Pong:
    return Pong(text=msg.text, seq=msg.seq, worker=os.getpid())
