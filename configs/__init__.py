"""The specs shipped with skipgen, installed as the data package ``skipgen.configs``
(``skipgen new`` reads them from there)."""
