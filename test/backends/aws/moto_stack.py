"""What the CDK stack makes, made in a moto_server for the tests: a bucket, the bin queue
and its dead-letter queue, and Batch (an IAM role, a MANAGED SPOT compute environment on
moto's default VPC, a job queue, a job definition running IMAGE with the command `drain`).

    python3 moto_stack.py '{"endpoint": "...", "name": "t1", "image": "...", "environment": {...}}'

Prints the stack's outputs as `cdk deploy --outputs-file` writes them. Uses boto3 (moto's
own dependency) because IAM and EC2 have no SDK client in the project.
"""

import json
import sys

import boto3

spec = json.loads(sys.argv[1])
kw = dict(endpoint_url=spec["endpoint"], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
name = spec["name"]

s3 = boto3.client("s3", **kw)
bucket = f"{name}-bucket"
s3.create_bucket(Bucket=bucket)

sqs = boto3.client("sqs", **kw)
dlq_url = sqs.create_queue(QueueName=f"{name}-bins-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue_url = sqs.create_queue(
    QueueName=f"{name}-bins",
    Attributes={
        "VisibilityTimeout": str(spec.get("visibilityTimeout", 300)),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.get("maxReceiveCount", 3)}),
    },
)["QueueUrl"]

iam = boto3.client("iam", **kw)
role = iam.create_role(
    RoleName=f"{name}-batch-service",
    AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
)["Role"]["Arn"]
instance_role = iam.create_instance_profile(InstanceProfileName=f"{name}-ecs-instance")["InstanceProfile"]["Arn"]

ec2 = boto3.client("ec2", **kw)
vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
groups = [g["GroupId"] for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]]

batch = boto3.client("batch", **kw)
ce = batch.create_compute_environment(
    computeEnvironmentName=f"{name}-spot",
    type="MANAGED",
    state="ENABLED",
    computeResources={
        "type": "SPOT",
        "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
        "minvCpus": 0,
        "maxvCpus": 16,
        "desiredvCpus": 0,
        "instanceTypes": ["c6i.large"],
        "subnets": subnets,
        "securityGroupIds": groups,
        "instanceRole": instance_role,
    },
    serviceRole=role,
)["computeEnvironmentArn"]
job_queue = batch.create_job_queue(
    jobQueueName=f"{name}-jobs", state="ENABLED", priority=1, computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}]
)["jobQueueArn"]
environment = [{"name": k, "value": v} for k, v in {"NBLAST_FANOUT_QUEUE_URL": queue_url, **spec.get("environment", {})}.items()]
job_definition = batch.register_job_definition(
    jobDefinitionName=f"{name}-worker",
    type="container",
    containerProperties={
        "image": spec["image"],
        "command": spec.get("command", ["drain"]),
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "1024"}],
        "environment": environment,
    },
    retryStrategy={"attempts": 3, "evaluateOnExit": [{"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]},
    timeout={"attemptDurationSeconds": 3600},
)["jobDefinitionArn"]

print(
    json.dumps(
        {
            "NblastFanoutStack": {
                "BucketName": bucket,
                "QueueUrl": queue_url,
                "DeadLetterQueueUrl": dlq_url,
                "JobQueueArn": job_queue,
                "JobDefinitionArn": job_definition,
                "StartFunctionName": f"{name}-start",
                "StatusFunctionName": f"{name}-status",
                "Region": "us-east-1",
            }
        }
    )
)
