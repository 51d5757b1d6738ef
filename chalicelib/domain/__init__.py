"""Pure rules of the product: no boto3, no PynamoDB, no HTTP."""
