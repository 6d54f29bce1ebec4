"""Heymarket's documented examples, copied verbatim (whitespace included) from its docs pages.

The tests answer requests with these bodies byte for byte, so the SDK is held to what the docs
show rather than to what we think the API returns.
"""

# 03-retrieving-contacts: the answer to GET /v1/contact/98765.
GET_CONTACT_98765 = """{
  "id": 98765,
  "display_name": "API Contact",
  "first": "API",
  "last": "Contact",
  "email": "help@heymarket.com",
  "phone": "15105553344",
  "is_opted_out": false
}"""

# 04-create-contact-reference: the answer to POST /v1/contact and to POST /v2/contact.
CREATE_RESPONSE = """{
"id": 98765,
"rev": 1,
"uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
}"""

# 03-retrieving-contacts: POST /v1/contacts/count "Returns the count as a string value."
COUNT_RESPONSE = '"1042"'

# 01-manage-contacts-guide: the example response of POST /v1/contact-fields.
CONTACT_FIELDS_RESPONSE = """{
  "fields": [
    { "id": 123, "name": "Plan" },
    { "id": 456, "name": "Renewal Date" }
  ]
}"""

# The UUID the docs use for GET /v2/contact/{contactID}.
DOCS_UUID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"

# 04-create-contact-reference: the request body of the v1 create example.
CREATE_V1_REQUEST = """{
"phone": "15105553344",
"first": "API",
"last": "Contact",
"display_name": "API Contact",
"email": "help@heymarket.com",
"is_opted_out": false
}"""

# 04-create-contact-reference: the request body of the v2 create example.
CREATE_V2_REQUEST = """{
"contact_channels": [
{
"channel_type": "phone",
"channel_id": "15105553344"
},
{
"channel_type": "email",
"channel_id": "help@heymarket.com"
}
],
"first": "API",
"last": "Contact",
"display_name": "API Contact"
}"""

# 01-manage-contacts-guide: the request body of the update example.
UPDATE_REQUEST = """{
    "phone": "15105553344",
    "first": "Jordan",
    "custom": {
      "123": "Premium",
      "456": "2024-01-15"
    }
  }"""

# 03-retrieving-contacts: the v2 list example's request body.
LIST_V2_REQUEST = """{
    "limit": 50,
    "page": 0,
    "ascending": true
  }"""
