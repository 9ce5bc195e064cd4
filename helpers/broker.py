"""RabbitMQ publisher of domain events (topic exchange, persistent JSON messages)."""

from __future__ import annotations

import json

import aio_pika


class EventPublisher:
    def __init__(self, url: str, exchange: str):
        self.url = url
        self.exchange_name = exchange
        self._connection = None
        self._exchange = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.url, timeout=10)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def publish(self, routing_key: str, body: dict) -> None:
        if self._exchange is None:
            await self.start()
        message = aio_pika.Message(
            json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=body.get("message_id"),
        )
        await self._exchange.publish(message, routing_key=routing_key)

    async def is_healthy(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._exchange = None
