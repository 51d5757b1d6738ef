"""Adapters to AWS services: DynamoDB (PynamoDB), EventBridge Scheduler."""
