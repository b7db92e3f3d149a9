//! AWS layer tests: the flow-log readers against canned SDK responses (aws-smithy-mocks).
