"""The local run (`make run`): moto in-process, a local scheduler and a local queue consumer.

Not used on AWS; nothing here is imported by the Lambda handlers.
"""
