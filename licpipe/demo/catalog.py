"""Applications, departments and behaviour parameters of the demo organisation."""

from dataclasses import dataclass

DOMAIN = "acme.example"


@dataclass(frozen=True)
class Application:
    """One licensed application as the demo exports and truth files name it."""

    application_id: str
    name: str
    sku: str
    license_model: str


APPLICATIONS = {
    "m365": Application("m365", "Microsoft 365", "Microsoft 365 E3", "named"),
    "adobe_cc": Application("adobe_cc", "Adobe Creative Cloud", "Creative Cloud All Apps", "named"),
    "salesforce": Application(
        "salesforce", "Salesforce Sales Cloud", "Sales Cloud Enterprise", "named"
    ),
    "slack": Application("slack", "Slack", "Slack Business+", "named"),
    "acmecad": Application("acmecad", "AcmeCAD", "CAD_PRO", "concurrent"),
}
NAMED_APPLICATIONS = ("m365", "adobe_cc", "salesforce", "slack")

# Share of the workforce per department, and the roles drawn inside it.
DEPARTMENTS = {
    "Engineering": (0.08, ("Mechanical Engineer", "Design Engineer", "Senior Engineer")),
    "Sales": (0.16, ("Account Executive", "Sales Development Rep", "Account Manager")),
    "Finance": (0.06, ("Financial Analyst", "Accountant", "Controller")),
    "Support": (0.12, ("Support Agent", "Support Agent", "Support Lead")),
    "Design": (0.06, ("Product Designer", "Graphic Designer", "UX Designer")),
    "Marketing": (0.08, ("Marketing Specialist", "Content Writer", "Brand Manager")),
    "HR": (0.04, ("HR Generalist", "Recruiter", "HR Business Partner")),
    "IT": (0.05, ("Systems Administrator", "Service Desk Analyst", "Security Engineer")),
    "Operations": (0.35, ("Operations Analyst", "Project Manager", "Operations Coordinator")),
}

# Planted behaviour per tier: probability of activity on a working day and the mean number of
# events on an active day. Weekend days use WEEKEND_FACTOR times the working-day probability.
TIER_PROBABILITY = {"power": 0.85, "regular": 0.45, "light": 0.12}
TIER_EVENTS = {"power": 40.0, "regular": 14.0, "light": 4.0}
TIER_SHARES = (("power", 0.22), ("regular", 0.45), ("light", 0.33))
NEXT_TIER = {"light": "regular", "regular": "power"}
WEEKEND_FACTOR = 0.12

TRAILING_DAYS = 90
INACTIVE_DAYS = 100

FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony "
    "Betty Mark Margaret Paul Sandra Steven Ashley Andrew Kimberly Joshua Emily Kevin Donna Brian "
    "Michelle George Carol Timothy Amanda Ronald Melissa Jason Deborah Ryan Stephanie Jacob "
    "Rebecca Gary Laura Nicholas Sharon Eric Cynthia Jonathan Kathleen Priya Wei Aisha Mateo "
    "Sofia Hiroshi Olga Kwame Ingrid José Zoë Chloé"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Chen "
    "Kowalski Okafor Schmidt Tanaka Müller Novak Lindqvist Ferreira O'Brien"
).split()
LOCATIONS = ("Boston", "Austin", "London", "Remote")
