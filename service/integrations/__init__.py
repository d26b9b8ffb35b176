"""Adapters that let other systems' clients talk to the service in their own wire protocols.

Each module here is a blueprint that translates one protocol (Google's Perspective API, Coral
Talk's external moderation phase) to the core: it takes the model through
``service.model_access.classifier`` and answers errors through ``service.errors``, registering its
own error shape when its clients expect one. The core knows nothing of them.
"""
