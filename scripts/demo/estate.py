#!/usr/bin/env python3
"""Builds and inspects the demo estate in the AWS emulator (moto on 127.0.0.1 only).

  estate.py create            a VPC, the article's payments group (three /16 rules plus rules that
                              must never be touched), an ENI in it, the bucket `demo-flow-logs` and
                              the VPC's flow log of all traffic delivering to it;
                              prints `GROUP_ID ENI_ID ENI_IP` on stdout
  estate.py upload DIR        uploads DIR's files to the bucket under their relative paths
  estate.py rules GROUP_ID    prints the group's ingress rules, one per line

Reads AWS_ENDPOINT_URL / AWS_REGION / test credentials from the environment (scripts/testenv.sh).
"""
import os
import sys

import boto3

BUCKET = "demo-flow-logs"


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ.get("AWS_REGION", "af-south-1"))


def create():
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.100.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.100.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="payments-app", Description="payments application tier",
                                      VpcId=vpc, TagSpecifications=[{
                                          "ResourceType": "security-group",
                                          "Tags": [{"Key": "team", "Value": "payments"}]}])["GroupId"]
    other = ec2.create_security_group(GroupName="bastion", Description="bastion", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        tcp(443, [{"CidrIp": "10.0.0.0/16", "Description": "datacentre via Direct Connect"},
                  {"CidrIp": "0.0.0.0/0", "Description": "public HTTPS (never touched)"}]),
        tcp(5432, [{"CidrIp": "10.4.0.0/16", "Description": "reporting network"},
                   {"CidrIp": "10.4.200.0/26", "Description": "already tight (never touched)"}]),
        tcp(8443, [{"CidrIp": "10.8.0.0/16", "Description": "partner VPN"}],
            ipv6=[{"CidrIpv6": "2001:db8::/64", "Description": "IPv6 (never touched)"}]),
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": other, "Description": "bastion (never touched)"}]},
    ])
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[group], PrivateIpAddress="10.100.1.10")
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={
        "LocationConstraint": os.environ.get("AWS_REGION", "af-south-1")})
    # the VPC's flow log of all traffic, delivering to the bucket: the operator checks that every
    # in-scope interface is captured by one before it trusts the evidence
    created = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL",
                                   LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{BUCKET}")
    if created.get("Unsuccessful") or not created.get("FlowLogIds"):
        sys.exit(f"create_flow_logs on {vpc}: {created.get('Unsuccessful')}")
    print(group, eni_id, "10.100.1.10")


def upload(folder):
    s3 = client("s3")
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            s3.upload_file(path, BUCKET, os.path.relpath(path, folder))


def tcp(port, ranges, ipv6=()):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": ranges,
            "Ipv6Ranges": list(ipv6)}


def rules(group_id):
    group = client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    lines = []
    for perm in group["IpPermissions"]:
        ports = f"{perm['IpProtocol']}:{perm.get('FromPort', '')}"
        for r in perm.get("IpRanges", []):
            lines.append(f"{ports} {r['CidrIp']}  ({r.get('Description', '')})")
        for r in perm.get("Ipv6Ranges", []):
            lines.append(f"{ports} {r['CidrIpv6']}  ({r.get('Description', '')})")
        for r in perm.get("UserIdGroupPairs", []):
            lines.append(f"{ports} {r['GroupId']}  ({r.get('Description', '')})")
    for line in sorted(lines):
        print("   ", line)
    print(f"    ({len(lines)} rules)")


if __name__ == "__main__":
    {"create": create, "upload": upload, "rules": rules}[sys.argv[1]](*sys.argv[2:])
