package s3test

import "net/http"

// AWS's own answers, for the cases where SeaweedFS answers otherwise or not
// at all, to be played through FaultTransport against the real client code.
// Each is in the shape AWS sends (the S3 API Reference's examples and error
// list: element order, namespace, AWS's messages word for word); the request
// and host IDs are made up.

// AWSPreconditionFailedMessage is AWS's message for a precondition that did
// not hold, for a whole request (412) or, inside a 200 DeleteObjects answer,
// for one object whose ETag no longer matches.
const AWSPreconditionFailedMessage = "At least one of the pre-conditions you specified did not hold"

// AWSPreconditionFailed is the <Error> entry of a 200 DeleteObjects answer
// for an object whose per-object ETag no longer matches.
func AWSPreconditionFailed(key string) DeleteEntry {
	return DeleteEntry{Key: key, Code: "PreconditionFailed", Message: AWSPreconditionFailedMessage}
}

// AWSMalformedXML is AWS's answer to a request body that does not validate
// against its schema; a server that predates the per-object ETag of
// DeleteObjects answers a conditional batch with it. It never reaches the
// server.
var AWSMalformedXML = Fault{
	Status: http.StatusBadRequest,
	Body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>MalformedXML</Code>` +
		`<Message>The XML you provided was not well-formed or did not validate against our published schema</Message>` +
		`<RequestId>4442587FB7D0A2F9</RequestId>` +
		`<HostId>s3test+fixture+host+id+0000000000000000000000000000000000000000=</HostId></Error>`,
}

// AWSConditionFailed is AWS's 412 answer to a request whose condition did
// not hold, naming the condition as AWS does in its <Condition> element:
// "If-None-Match" for a CopyObject, PutObject or CompleteMultipartUpload
// onto a key that exists, "If-Match" for a DeleteObject or a write over an
// ETag that no longer matches. It never reaches the server.
func AWSConditionFailed(condition string) Fault {
	return Fault{
		Status: http.StatusPreconditionFailed,
		Body: `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<Error><Code>PreconditionFailed</Code>` +
			`<Message>` + AWSPreconditionFailedMessage + `</Message>` +
			`<Condition>` + condition + `</Condition>` +
			`<RequestId>5F1A2B3C4D5E6F70</RequestId>` +
			`<HostId>s3test+fixture+host+id+0000000000000000000000000000000000000000=</HostId></Error>`,
	}
}
