"""Messaging: the outbox and its delivery, mail rendering, SMS/WhatsApp channels, conversations and marketing."""
